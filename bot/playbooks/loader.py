"""Read ``playbooks/*.yaml`` strictly: every mistake names the file, the step and the field.

A playbook is run at the worst moment, by someone who did not write it; so unknown keys,
unknown actions, missing parameters, bad timeouts and broken placeholders are refused when
the file is loaded (``vigil check``, start-up), each as ``ConfigError(where=file,
key="steps[2].timeout")`` with what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.config.checks import unknown_key
from bot.core.errors import ConfigError
from bot.core.yamlfile import read_yaml
from bot.playbooks import template
from bot.playbooks.actions import ACTIONS, ActionSpec
from bot.playbooks.schema import (
    DEFAULT_TIMEOUT_S,
    MAX_TIMEOUT_S,
    ON_FAILURE,
    OnFailure,
    Playbook,
    Step,
)

TOP_KEYS = frozenset({"name", "description", "steps"})
STEP_KEYS = frozenset({"name", "action", "params", "timeout", "on_failure"})
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


def _allowed(keys: frozenset[str]) -> str:
    return ", ".join(sorted(keys)) or "none"


def load_playbook(path: Path | str, *, actions: Mapping[str, ActionSpec] = ACTIONS) -> Playbook:
    """Parse and validate one playbook file."""
    where = str(path)
    data = read_yaml(path)
    return parse_playbook(data, where=where, default_name=Path(path).stem, actions=actions)


def load_playbooks(
    directory: Path | str, *, actions: Mapping[str, ActionSpec] = ACTIONS
) -> dict[str, Playbook]:
    """Every ``*.yaml``/``*.yml`` in the directory, by playbook name; names must be unique."""
    found: dict[str, Playbook] = {}
    for path in sorted(Path(directory).glob("*.y*ml")):
        book = load_playbook(path, actions=actions)
        if book.name in found:
            raise ConfigError(
                f"playbook name {book.name!r} is also used by {found[book.name].source}",
                where=str(path),
                key="name",
            )
        found[book.name] = book
    return found


def load_playbook_dirs(
    directories: Sequence[Path | str], *, actions: Mapping[str, ActionSpec] = ACTIONS
) -> dict[str, Playbook]:
    """Playbooks from several directories, the first ones winning by name.

    Pass your ``playbooks_dir`` before the bundled one: a ``rollback.yaml`` of yours replaces
    the bundled rollback, and the bundled containment and retrain fill what you did not
    write. Every file in every directory is validated, overridden or not, so a broken file
    is found before the day it is needed. A directory that does not exist is an error:
    silently running the bundled playbooks instead of yours would be worse.
    """
    found: dict[str, Playbook] = {}
    for directory in directories:
        if not Path(directory).is_dir():
            raise ConfigError("no such directory of playbooks", where=str(directory))
        for name, book in load_playbooks(directory, actions=actions).items():
            found.setdefault(name, book)
    return found


def parse_playbook(
    data: Any, *, where: str, default_name: str, actions: Mapping[str, ActionSpec] = ACTIONS
) -> Playbook:
    """Validate decoded YAML (pure: used by the loader and by tests)."""
    if not isinstance(data, dict):
        raise ConfigError(
            "a playbook must be a mapping with name, description and steps", where=where
        )
    for key in data:
        if key not in TOP_KEYS:
            raise ConfigError(unknown_key(sorted(TOP_KEYS)), where=where, key=str(key))
    name = data.get("name", default_name)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError("must be lower-case letters, digits, - or _", where=where, key="name")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("must be text", where=where, key="description")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ConfigError("must be a non-empty list of steps", where=where, key="steps")
    steps = tuple(_step(raw, i, where, actions) for i, raw in enumerate(raw_steps))
    seen: dict[str, int] = {}
    inputs: set[str] = set()
    for i, step in enumerate(steps):
        if step.name in seen:
            raise ConfigError(
                f"step name {step.name!r} is also used by steps[{seen[step.name]}]",
                where=where,
                key=f"steps[{i}].name",
            )
        seen[step.name] = i
        try:
            used = template.placeholders(dict(step.params), f"steps[{i}].params")
        except template.TemplateError as exc:
            raise ConfigError(exc.detail, where=where, key=exc.field) from exc
        if i == 0 and used & template.RESERVED:
            raise ConfigError(
                "the first step has no earlier step to refer to",
                where=where,
                key=f"steps[{i}].params",
            )
        inputs |= used - template.RESERVED
    return Playbook(name, description, steps, frozenset(inputs), where)


def _step(raw: Any, i: int, where: str, actions: Mapping[str, ActionSpec]) -> Step:
    at = f"steps[{i}]"
    if not isinstance(raw, dict):
        raise ConfigError("each step must be a mapping with an action", where=where, key=at)
    for key in raw:
        if key not in STEP_KEYS:
            raise ConfigError(unknown_key(sorted(STEP_KEYS)), where=where, key=f"{at}.{key}")
    action = raw.get("action")
    if not isinstance(action, str) or action not in actions:
        got = f"unknown action {action!r}" if action is not None else "missing"
        raise ConfigError(
            f"{got}; known actions: {_allowed(frozenset(actions))}", where=where, key=f"{at}.action"
        )
    spec = actions[action]
    name = raw.get("name", action)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("must be non-empty text", where=where, key=f"{at}.name")
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise ConfigError("must be a mapping", where=where, key=f"{at}.params")
    allowed = spec.required | spec.optional
    for key in params:
        if key not in allowed:
            raise ConfigError(
                f"{action} takes no parameter {key!r}; allowed: {_allowed(allowed)}",
                where=where,
                key=f"{at}.params.{key}",
            )
    for key in sorted(spec.required - set(params)):
        raise ConfigError(f"required by {action}", where=where, key=f"{at}.params.{key}")
    return Step(
        name=name.strip(),
        action=action,
        params=MappingProxyType(params),
        timeout_s=_timeout(raw.get("timeout", DEFAULT_TIMEOUT_S), where, f"{at}.timeout"),
        on_failure=_on_failure(raw.get("on_failure", "stop"), where, f"{at}.on_failure"),
    )


def _timeout(value: Any, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"must be a number of seconds, got {value!r}", where=where, key=key)
    if not 0 < value <= MAX_TIMEOUT_S:
        raise ConfigError(
            f"must be more than 0 and at most {MAX_TIMEOUT_S:g} seconds, got {value!r}",
            where=where,
            key=key,
        )
    return float(value)


def _on_failure(value: Any, where: str, key: str) -> OnFailure:
    for allowed in ON_FAILURE:
        if value == allowed:
            return allowed
    raise ConfigError(f"must be stop or continue, got {value!r}", where=where, key=key)
