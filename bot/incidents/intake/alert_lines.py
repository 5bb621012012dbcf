"""The timeline lines for alerts that fire, fire again or clear: one line per incident per post.

Why one line for many alerts: Alertmanager groups alerts before it sends them, and a storm
sends a group of ten, fifty, a thousand at once. One timeline entry per alert meant one Slack
thread reply per alert (Slack posts about one message a second per channel, so a thousand
alerts were a quarter of an hour of replies, with the page's DM queued behind them) and three
rows per alert for the one SQLite writer. The line says what a person needs first: how many,
what, and what sets them apart (the labels that differ, usually ``instance``). Every alert is
still stored as its own row, and the entry's ``data`` names each fingerprint.

Pure: no I/O, no clock; tested directly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SHOWN = 3  # titles or label values named in a line before "and N more"
DETAILED = 20  # alerts whose labels the entry's data keeps (the alert rows keep all)


@dataclass(frozen=True)
class AlertFacts:
    """What a line says of one alert."""

    fingerprint: str
    title: str
    labels: Mapping[str, str]
    value: float | None


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    rest = len(items) - SHOWN
    return f"{shown} and {rest} more" if rest > 0 else shown


def _differing(alerts: Sequence[AlertFacts]) -> str:
    """``(instance: a, b, c and 7 more)``: the labels whose values differ between the alerts."""
    names = sorted({n for a in alerts for n in a.labels})
    differ = [n for n in names if len({a.labels.get(n, "") for a in alerts}) > 1]
    if not differ:
        return ""
    if len(differ) == 1:
        name = differ[0]
        values = list(dict.fromkeys(a.labels.get(name, "") or '""' for a in alerts))
        return f" ({name}: {_listed(values)})"
    return f" (differing in {_listed(differ)})"


def _what(alerts: Sequence[AlertFacts]) -> str:
    """The titles, most common first: ``T`` or ``T1 (4 alerts); T2 and 3 more``."""
    if len(alerts) == 1:
        return alerts[0].title
    counted = Counter(a.title for a in alerts).most_common()
    if len(counted) == 1:
        return f"{len(alerts)} alerts: {counted[0][0]}{_differing(alerts)}"
    titles = [f"{t} ({n} alerts)" if n > 1 else t for t, n in counted]
    shown = "; ".join(titles[:SHOWN])
    rest = len(titles) - SHOWN
    more = f" and {rest} more" if rest > 0 else ""
    return f"{len(alerts)} alerts: {shown}{more}"


def firing_line(alerts: Sequence[AlertFacts], *, again: bool = False) -> str:
    """``Firing: T`` for one alert, ``Firing: 10 alerts: T (instance: …)`` for several."""
    return f"{'Firing again' if again else 'Firing'}: {_what(alerts)}"


def muted_line(alerts: Sequence[AlertFacts], why: str) -> str:
    """``Firing, muted (nobody paged): T; silenced by 1a2b3c4d until 14:00 UTC``: the alert
    is here and stored, and what keeps it from paging (it pages if still firing after)."""
    return f"Firing, muted (nobody paged): {_what(alerts)}; {why}"


def cleared_line(
    alerts: Sequence[AlertFacts], *, incident_id: int, still_firing: int, then: str = ""
) -> str:
    """``Alert cleared: T`` (or ``Alerts cleared: 10 alerts: T …``), and when nothing of the
    incident fires any more, what happens next (``then``: it resolves by itself at …) or
    what to do."""
    line = f"{'Alert cleared' if len(alerts) == 1 else 'Alerts cleared'}: {_what(alerts)}"
    if still_firing == 0:
        after = then or f"when you are satisfied, /incident resolve {incident_id}"
        line += f". Every alert of #{incident_id} has cleared; {after}"
    return line


def line_data(alerts: Sequence[AlertFacts], *, labels: bool) -> dict[str, Any]:
    """The entry's ``data``: every fingerprint, and the labels and value of the first few."""
    detail: list[dict[str, Any]] = []
    for a in alerts[:DETAILED]:
        item: dict[str, Any] = {"fingerprint": a.fingerprint}
        if labels:
            item["labels"] = dict(a.labels)
        item["value"] = a.value
        detail.append(item)
    return {"count": len(alerts), "fingerprints": [a.fingerprint for a in alerts], "alerts": detail}
