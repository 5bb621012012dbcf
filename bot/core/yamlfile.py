"""Reading one YAML file a person wrote: ``vigil.yaml``, a rules file, a playbook.

Each of them fails the same two ways, an unreadable file or malformed YAML, and each
refusal must name the file and, for YAML, the line, so ``vigil check`` and start-up say
exactly where to look. What the data must hold is each caller's own business.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.core.errors import ConfigError


def read_yaml(path: Path | str, *, unreadable: str = "cannot read: {reason}") -> object:
    """One YAML file's data (``None`` when empty); unreadable or malformed files raise
    ``ConfigError`` naming the file (and line). ``unreadable`` words the first failure,
    with ``{reason}`` the system's ("No such file or directory")."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(unreadable.format(reason=exc.strerror), where=where) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{where}:{mark.line + 1}" if mark is not None else where
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", where=at) from exc
