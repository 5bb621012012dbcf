"""``vigil check``: validate config, rules, playbooks and templates before a deploy.

Each check raises ``ConfigError`` naming the file (and line or field) of the first problem,
so a CI job or a person at a terminal sees exactly what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
import yaml

from bot.config import Settings, load_settings
from bot.errors import ConfigError
from bot.postmortem.draft import PostmortemRenderer


@dataclass(frozen=True)
class CheckReport:
    config: str
    rules: int
    playbooks: int
    templates: int

    def summary(self) -> str:
        return (
            f"OK: config {self.config}; {self.rules} classification rules; "
            f"{self.playbooks} playbooks; {self.templates} templates"
        )


def check_playbooks(directory: Path) -> int:
    """Every ``*.yaml`` must parse and be a mapping with a ``steps`` list of mappings.

    The full step schema (actions, timeouts, on_failure) arrives with the playbook engine;
    until then this catches the mistakes that would stop it loading at all.
    """
    count = 0
    for path in sorted(directory.glob("*.y*ml")) if directory.is_dir() else []:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
            raise ConfigError(
                f"not valid YAML: {getattr(exc, 'problem', exc)}", where=where
            ) from exc
        if not isinstance(data, dict):
            raise ConfigError("a playbook must be a mapping", where=str(path))
        steps = data.get("steps")
        if not isinstance(steps, list) or not steps:
            raise ConfigError("must be a non-empty list of steps", where=str(path), key="steps")
        for i, step in enumerate(steps):
            if not isinstance(step, dict) or not isinstance(step.get("action"), str):
                raise ConfigError(
                    "each step needs an 'action'", where=str(path), key=f"steps[{i}].action"
                )
        count += 1
    return count


def check_templates(directory: Path) -> int:
    """Every ``*.j2`` must compile; a syntax error is reported with its template and line."""
    env = jinja2.Environment(autoescape=False)  # noqa: S701 (Markdown and chat text, not HTML)
    count = 0
    for path in sorted(directory.rglob("*.j2")) if directory.is_dir() else []:
        try:
            env.parse(path.read_text(encoding="utf-8"), name=path.name, filename=str(path))
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(exc.message or "syntax error", where=f"{path}:{exc.lineno}") from exc
        count += 1
    return count


def run_checks(
    config_path: str | None, env: dict[str, str], *, playbooks: Path, templates: Path
) -> CheckReport:
    settings: Settings = load_settings(config_path, env)
    PostmortemRenderer(settings.templates_dir).check()  # the bundled templates and overrides
    return CheckReport(
        config=str(settings.config_path) if settings.config_path else "(embedded defaults)",
        rules=len(settings.incidents.policy.rules),
        playbooks=check_playbooks(playbooks),
        templates=check_templates(templates),
    )
