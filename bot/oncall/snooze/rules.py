"""Snooze: hold an incident's pages for a while, or until a metric shows what we wait for.

    /incident snooze 12 30m
    /incident snooze 12 until psi<0.1 for 30m
    /incident snooze 12 until psi{feature="income"}<0.1 for 30m
    /incident snooze 12 2h until error_rate<=0.01 for 10m      (whichever comes first)

The snooze ends, and the incident pages again, at the earliest of: the time given, the
condition having held *continuously* for its ``for`` duration, and the 24 h cap. Choices:

- A time over 24 h is **capped with a note**, not refused: the person asking at 3 a.m. gets
  the safe version of what they asked without retyping, and is told. A ``for`` over 24 h
  (or over the time given) is refused: such a condition could never end the snooze.
- "Continuously" needs evidence: the samples must be fresh (no gap over ``max_gap``, 5 min
  by default, between them or before ``now``) and all satisfy the condition, and the hold
  counts from the snooze on, so "until psi<0.1 for 30m" typed while psi is already low
  still waits 30 min. With several matching series (psi of every feature) all must hold.
- Without ``for`` one fresh sample taken after the snooze began is enough.
- Slack escapes ``<`` and ``>`` as ``&lt;``/``&gt;`` and may curl quotes; both are undone.

Pure: parsing raises :class:`ValidationError` naming the field, with an example of the right
form; evaluation takes the samples and ``now``. The watcher in ``bot.oncall.snooze.watcher`` keeps
each series as a :class:`Run` (two timestamps, not the samples) and judges it with
:func:`check_runs`, which answers as :func:`check_snooze` would from every sample.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

from bot.core.durations import format_duration, parse_duration
from bot.core.errors import ValidationError

MAX_SNOOZE = timedelta(hours=24)
MAX_GAP = timedelta(minutes=5)
USAGE = "Write it like /incident snooze 12 30m, or /incident snooze 12 until psi<0.1 for 30m"
Op = Literal["<", "<=", ">", ">="]
_OPS: dict[str, Op] = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}
_COMPARE: dict[Op, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_METRIC = re.compile(r"[a-z_][a-z0-9_]*")
_CONDITION = re.compile(
    r"(?P<metric>[^\s{<>=!]+)\s*(?:\{(?P<labels>[^}]*)\})?\s*(?P<op>[<>=!]=?|=)\s*(?P<value>\S+)"
)
_LABEL = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')\s*(?:,|$)")
_UNTIL = re.compile(r"(?P<duration>.*?)(?:\buntil\b(?P<condition>.*))?", re.I | re.S)
_FOR = re.compile(r"\s+for\s+(\S+)\s*$", re.IGNORECASE)
_SLACK = {"&lt;": "<", "&gt;": ">", "&amp;": "&"} | {
    curly: straight
    for straight, pair in (('"', "\u201c\u201d"), ("'", "\u2018\u2019"))
    for curly in pair
}


@dataclass(frozen=True)
class Condition:
    """``metric{labels} op value`` held for ``hold``; ``labels`` select series (subset match)."""

    metric: str
    op: Op
    value: float
    hold: timedelta = timedelta()
    labels: tuple[tuple[str, str], ...] = ()

    def test(self, x: float) -> bool:
        return _COMPARE[self.op](x, self.value)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True for a series whose labels include every label of the selector."""
        return all(labels.get(k) == v for k, v in self.labels)

    def __str__(self) -> str:
        selector = ",".join(f'{k}="{v}"' for k, v in self.labels)
        text = f"{self.metric}{{{selector}}}" if selector else self.metric
        text += f"{self.op}{self.value:g}"
        return f"{text} for {format_duration(self.hold)}" if self.hold else text


@dataclass(frozen=True)
class Snooze:
    """A parsed request. ``duration`` is already capped; ``asked`` is what was typed."""

    incident_id: int
    duration: timedelta | None
    condition: Condition | None
    asked: timedelta | None = None

    @property
    def capped(self) -> bool:
        return self.asked is not None and self.asked != self.duration

    @property
    def note(self) -> str:
        if not self.capped or self.asked is None:
            return ""
        return (
            f"Capped at {format_duration(MAX_SNOOZE)}, the longest a snooze lasts "
            f"(you asked for {format_duration(self.asked)})."
        )


def parse_snooze(text: str) -> Snooze:
    """Parse what follows ``/incident snooze`` (``12 30m``, ``12 until psi<0.1 for 30m``)."""
    for escaped, plain in _SLACK.items():
        text = text.replace(escaped, plain)
    words = text.split(None, 1)
    if not words:
        raise ValidationError("snooze", f"Say which incident and for how long. {USAGE}")
    number = words[0].removeprefix("#")
    if not (number.isascii() and number.isdigit()) or len(number) > 18 or int(number) == 0:
        raise ValidationError("snooze.incident", f"{words[0]!r} is not an incident number. {USAGE}")
    rest = words[1].strip() if len(words) > 1 else ""
    split = _UNTIL.fullmatch(rest)
    assert split is not None  # the pattern matches any text
    duration_text, cond_text = split.group("duration").strip(), split.group("condition")
    if not duration_text and cond_text is None:
        raise ValidationError("snooze.duration", f"Say for how long, or until what. {USAGE}")
    asked = None
    if duration_text:
        first, _, extra = duration_text.partition(" ")
        asked = _duration(first)
        if extra.strip():
            raise ValidationError(
                "snooze.duration", f"Unexpected {extra.strip()!r} after the duration. {USAGE}"
            )
    condition = None if cond_text is None else _condition(cond_text.strip(), asked)
    duration = None if asked is None else min(asked, MAX_SNOOZE)
    return Snooze(int(number), duration, condition, asked)


def _duration(text: str) -> timedelta:
    try:
        value = parse_duration(text)
    except ValueError:
        raise ValidationError(
            "snooze.duration",
            f"{text!r} is not a duration; use a unit: 30m, 2h or 1h30m. "
            "Example: /incident snooze 12 30m",
        ) from None
    if not value:
        raise ValidationError(
            "snooze.duration", "A snooze of 0 snoozes nothing. Example: /incident snooze 12 30m"
        )
    return value


def _condition(text: str, duration: timedelta | None) -> Condition:
    example = "Example: /incident snooze 12 until psi<0.1 for 30m"
    if not text:
        raise ValidationError("snooze.condition", f"Say until what. {example}")
    hold = timedelta()
    found = _FOR.search(text)
    if found:
        text = text[: found.start()]
        try:
            hold = parse_duration(found.group(1))
        except ValueError:
            raise ValidationError(
                "snooze.for",
                f"{found.group(1)!r} is not a duration; use a unit: for 30m. {example}",
            ) from None
    limit = min(duration or MAX_SNOOZE, MAX_SNOOZE)
    if hold > limit:
        raise ValidationError(
            "snooze.for",
            f"'for {found.group(1) if found else ''}' can never hold before the snooze ends "
            f"({format_duration(limit)} at the most); use a shorter one, like for 30m. {example}",
        )
    match = _CONDITION.fullmatch(text.strip())
    if match is None:
        raise ValidationError(
            "snooze.condition",
            f"{text.strip()!r} is not a condition: write metric, comparison, number, like "
            f"psi<0.1 or error_rate<=0.01. {example}",
        )
    metric, op, raw_value = match.group("metric"), match.group("op"), match.group("value")
    doubled = re.match(r"[<>=!]+", raw_value)
    if doubled:  # psi<<0.1, psi<=<0.1: a slip on the comparison, not a strange number
        raise ValidationError(
            "snooze.op",
            f"Compare with <, <=, > or >=, not {op + doubled.group()!r} (like psi<0.1). {example}",
        )
    if not _METRIC.fullmatch(metric):
        raise ValidationError(
            "snooze.metric",
            f"Metric names are lowercase letters, digits and _ (psi, error_rate), not "
            f"{metric!r}. {example}",
        )
    if op not in _OPS:
        raise ValidationError(
            "snooze.op", f"Compare with <, <=, > or >=, not {op!r} (like psi<0.1). {example}"
        )
    try:
        value = float(raw_value)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        hint = " (write 0.1 for 10 %)" if raw_value.endswith("%") else ""
        raise ValidationError("snooze.value", f"{raw_value!r} is not a number{hint}. {example}")
    labels = _labels(match.group("labels"))
    return Condition(metric, _OPS[op], value, hold, labels)


def _labels(text: str | None) -> tuple[tuple[str, str], ...]:
    if text is None or not text.strip():
        return ()
    pairs: dict[str, str] = {}
    at = 0
    while at < len(text):
        found = _LABEL.match(text, at)
        if found is None or found.end() == at:
            raise ValidationError(
                "snooze.labels",
                f'{{{text}}} is not a label selector; write psi{{feature="income"}}<0.1',
            )
        pairs[found.group(1)] = found.group(2) if found.group(2) is not None else found.group(3)
        at = found.end()
    return tuple(sorted(pairs.items()))


def snooze_until(snooze: Snooze, snoozed_at: datetime) -> datetime:
    """The latest moment the snooze ends and pages again: the time given, or the 24 h cap."""
    limit = snooze.duration if snooze.duration is not None else MAX_SNOOZE
    return snoozed_at.astimezone(UTC) + limit  # UTC: same-zone arithmetic is wall-clock


def holds_since(
    samples: Iterable[tuple[datetime, float]],
    condition: Condition,
    now: datetime,
    *,
    max_gap: timedelta = MAX_GAP,
) -> datetime | None:
    """Since when the condition has held without a break, judged by one series' samples up
    to ``now``; None when the latest sample fails it or is stale. The start is the first
    sample of the unbroken run (where between samples it began is not known: be strict)."""
    now = now.astimezone(UTC)
    points = sorted((at.astimezone(UTC), value) for at, value in samples if at <= now)
    if not points or now - points[-1][0] > max_gap:
        return None
    since: datetime | None = None
    later = now
    for at, value in reversed(points):
        if later - at > max_gap or not condition.test(value):
            break
        since, later = at, at
    return since


def condition_holds(
    samples: Iterable[tuple[datetime, float]],
    condition: Condition,
    now: datetime,
    *,
    since: datetime | None = None,
    max_gap: timedelta = MAX_GAP,
) -> bool:
    """True when the condition has held continuously for ``condition.hold`` at ``now``,
    counting only from ``since`` (the snooze's start) when given."""
    points = list(samples)
    start = holds_since(points, condition, now, max_gap=max_gap)
    if start is None:
        return False
    if since is not None:
        latest = max(at for at, _ in points if at <= now)
        if latest < since:  # no sample taken since the snooze: nothing seen yet
            return False
        start = max(start, since)
    return now - start >= condition.hold


@dataclass(frozen=True)
class SnoozeCheck:
    """``over``: page again now, for ``why``; else look again at ``next_at`` at the latest
    (and on every new sample when there is a condition)."""

    over: bool
    why: Literal["time", "cap", "condition"] | None
    next_at: datetime | None
    text: str = ""


def check_snooze(
    snooze: Snooze,
    snoozed_at: datetime,
    now: datetime,
    series: Sequence[Sequence[tuple[datetime, float]]] = (),
) -> SnoozeCheck:
    """Is the snooze over at ``now``? ``series``: the samples of every series the condition's
    selector matches (see :meth:`Condition.matches`); none means "not known yet"."""
    n, cond = snooze.incident_id, snooze.condition
    if (
        cond is not None
        and series
        and all(condition_holds(s, cond, now, since=snoozed_at) for s in series)
    ):
        return SnoozeCheck(True, "condition", None, held_text(n, cond))
    return check_time(snooze, snoozed_at, now)


def held_text(n: int, cond: Condition) -> str:
    return f"{cond} held: the snooze of #{n} is over. Check it; /incident resolve {n} if fixed."


def check_time(snooze: Snooze, snoozed_at: datetime, now: datetime) -> SnoozeCheck:
    n, cond = snooze.incident_id, snooze.condition
    deadline = snooze_until(snooze, snoozed_at)
    if now < deadline:
        return SnoozeCheck(False, None, deadline)
    waited = f" without {cond} holding" if cond else ""
    if snooze.duration is not None and not snooze.capped:
        text = f"Snooze of #{n} ({format_duration(snooze.duration)}) is over{waited}{PAGING_AGAIN}"
        return SnoozeCheck(True, "time", None, text)
    text = f"Snooze of #{n} reached the {format_duration(MAX_SNOOZE)} cap{waited}{PAGING_AGAIN}"
    return SnoozeCheck(True, "cap", None, text)


PAGING_AGAIN = ": paging again."
"""How a snooze's end reads for a triggered incident, whose escalation starts again."""


def ended_text(text: str, n: int, state: str, owner: str | None) -> str:
    """The line that ends a snooze, saying what the end does in the incident's ``state``:
    a triggered incident pages again; an acknowledged or contained one has someone on it,
    so nobody is paged (a page asking to acknowledge it again would be noise at 2 a.m.)."""
    if state == "triggered" or not text.endswith(PAGING_AGAIN):
        return text
    by = f" by {owner}" if owner else ""
    return f"{text.removesuffix(PAGING_AGAIN)}; #{n} stays {state}{by}, so nobody is paged."


def snooze_text(snooze: Snooze, snoozed_at: datetime, *, tz: tzinfo = UTC) -> str:
    """The confirmation: what was snoozed, until when at the latest, and any cap note."""
    until = snooze_until(snooze, snoozed_at).astimezone(tz)
    same_day = until.date() == snoozed_at.astimezone(tz).date()
    when = f"{until:%H:%M %Z}" if same_day else f"{until:%a %d %b %H:%M %Z}"
    n = snooze.incident_id
    if snooze.condition is None:
        head = f"Snoozed #{n}: no pages until {when}."
    else:
        head = f"Snoozed #{n} until {snooze.condition}, and no later than {when}."
    note = f" {snooze.note}" if snooze.note else ""
    return f"{head}{note} It pages again then, unless it is resolved first."
