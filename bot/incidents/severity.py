"""The four severities, P1 (worst) to P4, in one place.

Classification, paging routes, SLA targets, quiet periods, notify channels and the
``/incident sev`` parser all name the same four; each reads them from here, so a list in an
error message ("use P1, P2, P3, P4") and the order a list sorts by never disagree. Pure.
"""

from __future__ import annotations

from typing import Literal

from bot.core.errors import ValidationError

Severity = Literal["P1", "P2", "P3", "P4"]
SEVERITIES: tuple[Severity, ...] = ("P1", "P2", "P3", "P4")

MARKS: dict[str, str] = {"P1": "🔴", "P2": "🟠", "P3": "🟡", "P4": "🔵"}
"""The colour every surface shows a severity with (card, page, console line)."""


def mark(severity: str) -> str:
    """The severity's colour mark; a grey one for anything else (never a crash)."""
    return MARKS.get(severity, "⚪")


def parse_severity(value: str) -> str:
    """``p1`` or `` P1 `` as ``P1``; anything else a ``ValidationError`` naming ``severity``."""
    sev = value.strip().upper()
    if sev not in SEVERITIES:
        raise ValidationError("severity", f"must be one of P1, P2, P3, P4, got {value!r}")
    return sev


def highest(a: Severity, b: Severity) -> Severity:
    """Return the more severe of two severities (P1 is the highest)."""
    return a if SEVERITIES.index(a) <= SEVERITIES.index(b) else b
