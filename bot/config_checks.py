"""Validators shared by the sections of ``vigil.yaml``. Pure.

Each raises ``ConfigError`` naming the file and key; :mod:`bot.config` and the section
modules it imports (``notify:``, ``quality:``) use these so a mistake reads the same
wherever it is made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.errors import ConfigError


def unknown_key(allowed: Iterable[str]) -> str:
    """The one wording of an unknown key in any Vigil config file (``vigil.yaml``, rules,
    playbooks), listing what is allowed there so the typo is easy to see."""
    return f"unknown key (allowed: {', '.join(allowed) or 'none'})"


def mapping(value: object, where: str, key: str) -> dict[str, Any]:
    """``value`` itself when it is a mapping; otherwise "must be a mapping" at ``key``."""
    if not isinstance(value, dict):
        raise ConfigError("must be a mapping", where=where, key=key)
    return value


def known(spec: Mapping[Any, Any], keys: tuple[str, ...], where: str, key: str) -> None:
    """Refuse the first setting of ``spec`` not in ``keys``, naming ``key.<setting>``."""
    extra = sorted(set(map(str, spec)) - set(keys))
    if extra:
        raise ConfigError(unknown_key(keys), where=where, key=f"{key}.{extra[0]}")
