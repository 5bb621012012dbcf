"""Is this alert muted, and by what? One answer for the intake and for a release. Pure.

An alert is muted while an active silence matches it, while a maintenance window covers it,
or while an inhibition rule finds a source for it. The answer is the list stored in
``alerts.muted_by`` (JSON, so a later process reads it without this code's classes)::

    {"kind": "silence", "id": "…", "until": "2026-12-06T14:00:00Z"}
    {"kind": "window", "name": "db-migration", "until": "…"}
    {"kind": "inhibited", "incident": 12, "rule": "p1-mutes-symptoms", "by": "<fingerprint>"}

Every reason is kept (not only the first), so the API's ``silencedBy``/``inhibitedBy`` name
them all and a silence expired early does not release an alert a window still covers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.timefmt import iso_z
from bot.silences.inhibit import InhibitRule, SourceAlert, inhibitor
from bot.silences.matchers import Matcher, matches_all
from bot.silences.windows import Window, active

Reason = dict[str, Any]


@dataclass(frozen=True)
class ActiveSilence:
    """What the intake needs of an active silence."""

    id: str
    matchers: tuple[Matcher, ...]
    ends_at: datetime


@dataclass(frozen=True)
class WindowRule:
    """A maintenance window and its matchers, parsed once."""

    window: Window
    matchers: tuple[Matcher, ...]


@dataclass(frozen=True)
class MuteSet:
    """Everything that mutes, as of one moment."""

    at: datetime
    silences: Sequence[ActiveSilence] = ()
    windows: Sequence[WindowRule] = ()
    rules: Sequence[InhibitRule] = ()
    sources: Sequence[SourceAlert] = ()

    def reasons(
        self, labels: Mapping[str, str], fingerprint: str, severity: str | None = None
    ) -> list[Reason]:
        """Every reason the alert is muted now; empty when it is not. ``severity``: that of
        the open incident the alert would join (a P1's own alerts never inhibit each other)."""
        out: list[Reason] = [
            {"kind": "silence", "id": s.id, "until": iso_z(s.ends_at)}
            for s in self.silences
            if matches_all(s.matchers, labels)
        ]
        for rule in self.windows:
            if not rule.window.covers(labels):
                continue
            if rule.matchers and not matches_all(rule.matchers, labels):
                continue
            occ = active(rule.window, self.at)
            if occ is not None:
                out.append({"kind": "window", "name": rule.window.name, "until": iso_z(occ.end)})
        if self.rules and self.sources:
            inh = inhibitor(self.rules, labels, self._others(fingerprint), target_severity=severity)
            if inh is not None:
                out.append(
                    {
                        "kind": "inhibited",
                        "incident": inh.incident_id,
                        "rule": inh.rule,
                        "by": inh.fingerprint,
                    }
                )
        return out

    def words(self, reasons: Sequence[Reason]) -> str:
        """What the timeline says of these reasons (:func:`reasons_words`)."""
        return reasons_words(reasons)

    def _others(self, fingerprint: str) -> Sequence[SourceAlert]:
        return [s for s in self.sources if s.fingerprint != fingerprint]


def held_by(reasons: Sequence[Reason] | None, silence_id: str) -> bool:
    """Do these reasons (an alert's ``muted_by``) name this silence?"""
    return any(r.get("kind") == "silence" and r.get("id") == silence_id for r in reasons or ())


def silenced_by(reasons: Sequence[Reason] | None) -> list[str]:
    """Alertmanager's ``status.silencedBy``: the ids of silences (windows are named
    ``window:NAME``, so a client that only shows ids still shows why)."""
    out: list[str] = []
    for r in reasons or ():
        if r.get("kind") == "silence":
            out.append(str(r["id"]))
        elif r.get("kind") == "window":
            out.append(f"window:{r['name']}")
    return out


def inhibited_by(reasons: Sequence[Reason] | None) -> list[str]:
    """Alertmanager's ``status.inhibitedBy``: the fingerprints of the inhibiting alerts."""
    return [str(r["by"]) for r in reasons or () if r.get("kind") == "inhibited"]


def reasons_words(reasons: Sequence[Reason]) -> str:
    """``silenced by 1a2b3c4d until 14:00 UTC; inhibited by #12 (rule p1-mutes-symptoms)``."""
    parts: list[str] = []
    for r in reasons:
        until = str(r.get("until", ""))[11:16]
        if r.get("kind") == "silence":
            parts.append(f"silenced by {str(r['id'])[:8]} until {until} UTC")
        elif r.get("kind") == "window":
            parts.append(f"in maintenance window {r['name']} until {until} UTC")
        elif r.get("kind") == "inhibited":
            parts.append(f"inhibited by #{r.get('incident')} (rule {r.get('rule')})")
    return "; ".join(parts)
