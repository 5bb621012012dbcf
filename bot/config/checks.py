"""Validators shared by the sections of ``vigil.yaml``. Pure.

``mapping`` raises ``ConfigError`` naming the file and key. The value checks
(``http_url``, ``whole_number``, ``positive_duration``, ``bounded_number``,
``true_or_false``) raise ``ValueError`` with the message alone, so a pydantic section model
(:mod:`bot.config.model`) and a hand-written check that adds the key both say it in the
same words, wherever the mistake is made.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from bot.core.durations import parse_duration
from bot.core.errors import ConfigError


def unknown_key(allowed: Iterable[str]) -> str:
    """The one wording of an unknown key in any Vigil config file (``vigil.yaml``, rules,
    playbooks), listing what is allowed there so the typo is easy to see."""
    return f"unknown key (allowed: {', '.join(allowed) or 'none'})"


def mapping(value: object, where: str, key: str) -> dict[str, Any]:
    """``value`` itself when it is a mapping; otherwise "must be a mapping" at ``key``."""
    if not isinstance(value, dict):
        raise ConfigError("must be a mapping", where=where, key=key)
    return value


def http_url(value: object) -> str:
    """An http(s) URL with a host, stripped. The value is never echoed: it may carry
    credentials."""
    example = "e.g. https://trainer.internal/retrain"
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be an http:// or https:// URL, {example}")
    parts = urlsplit(value.strip())
    try:
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
    except ValueError:
        raise ValueError("has a port that is not a number") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        scheme = f"{parts.scheme}://" if parts.scheme else "no scheme"
        raise ValueError(
            f"must be an http:// or https:// URL with a host ({example}), got {scheme}"
        )
    return value.strip()


def whole_number(value: object, *, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``; text such as ``"8080"`` is read too (an
    environment variable or a flag is always text)."""
    try:
        number = int(str(value))
    except ValueError:
        raise ValueError(f"must be a whole number, got {value!r}") from None
    if not low <= number <= high:
        raise ValueError(f"must be between {low} and {high}, got {number}")
    return number


def positive_duration(value: object) -> timedelta:
    """A duration with a unit (``30s``, ``5m``) longer than zero."""
    delta = parse_duration(value)
    if delta <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return delta


def optional_duration(value: object) -> timedelta | None:
    """A :func:`positive_duration`, or None when unset."""
    return None if value is None else positive_duration(value)


def bounded_number(value: object, *, low: float, high: float, low_ok: bool) -> float:
    """A finite number above ``low`` (or equal to it when ``low_ok``) and at most ``high``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"must be a finite number, got {value!r}")
    above = number >= low if low_ok else number > low
    if not above or number > high:
        if high == math.inf:
            bound = f"{'at least' if low_ok else 'greater than'} {low:g}"
        else:
            bound = f"between {low:g} and {high:g}"
        raise ValueError(f"must be {bound}, got {value!r}")
    return number


def true_or_false(value: object) -> bool:
    """``true`` or ``false`` only: ``yes``, ``1`` or ``"on"`` are refused, not guessed."""
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value
