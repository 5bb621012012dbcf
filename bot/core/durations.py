"""Durations in words: reading ``30s``/``1h30m`` from settings and commands, and writing them.

Every duration a person types or reads goes through here, so ``wait: 10m`` is read by the
same rule wherever it appears and a duration is written the same way in the same kind of
place. Instants (a time of day, an ISO 8601 stamp) are :mod:`bot.core.timefmt`'s job.

Two families of writers, each function named for where its text appears (people read these
words and tests pin them, so each keeps its exact wording):

* compact, the way ``vigil.yaml`` writes them: :func:`short_duration` (exact, ``1h30m5s``),
  :func:`short_rounded` (two largest units, for tables: ``2h05m``), :func:`short_relative`
  (minutes, for "in 5h 20m": ``5h 20m``, ``<1m``);
* worded, for sentences: :func:`format_duration` (exact, ``1 h 30 min 5 s``),
  :func:`words_rounded` (two largest units, no seconds: ``2 d 3 h``, ``under a minute``),
  :func:`words_table` (two largest units, minutes padded, signed, ``—`` for none),
  :func:`interval_words` (a polling interval: ``30 s``, ``2.5 min``) and
  :func:`period_words` (a report's period: ``day``, ``2 hours``).

Pure: no clock, no I/O; ``now`` is the caller's business.
"""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNITS = ("weeks", "days", "hours", "minutes", "seconds")
_MIN = timedelta(minutes=1)


def parse_duration(raw: object) -> timedelta:
    """``"30s"``, ``"5m"``, ``"1h30m"``, ``"1w"`` → timedelta; ValueError for anything else.

    Bare numbers are refused: ``wait: 10`` is ten what? (YAML even reads ``1:30`` as 90.)
    """
    if isinstance(raw, bool) or not isinstance(raw, str):
        raise ValueError(f"{raw!r} is not a duration; write it with a unit: 30s, 5m, 1h, 1h30m")
    match = _DURATION.fullmatch(raw.strip())
    if not raw.strip() or match is None:
        raise ValueError(f"{raw!r} is not a duration; write it with a unit: 30s, 5m, 1h, 1h30m")
    amounts = {
        unit: int(value) for unit, value in zip(_UNITS, match.groups(), strict=True) if value
    }
    return timedelta(**amounts)


def _split(total: int) -> tuple[int, int, int, int]:
    """Whole seconds → days, hours, minutes, seconds."""
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    return days, hours, minutes, seconds


# ----------------------------------------------------------------------------- compact


def short_duration(delta: timedelta) -> str:
    """``5m``, ``1h30m``, ``45s``, ``1d``: the way rules files write durations."""
    total = int(delta.total_seconds())
    if total == 0:
        return "0s"
    parts = zip(_split(total), ("d", "h", "m", "s"), strict=True)
    return "".join(f"{amount}{unit}" for amount, unit in parts if amount)


def short_rounded(d: timedelta | None) -> str:
    """Compact, for tables and the headline: ``45s``, ``4m``, ``2h10m``, ``3d4h``, ``—``."""
    if d is None:
        return "—"
    days, hours, minutes, seconds = _split(int(d.total_seconds()))
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{seconds}s"


def short_relative(delta: timedelta) -> str:
    """Compact relative time for chat: ``2d 3h``, ``5h 20m``, ``12m``, ``<1m``."""
    days, hours, mins, _ = _split(int(delta.total_seconds()) // 60 * 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {mins}m" if mins else f"{hours}h"
    return f"{mins}m" if mins else "<1m"


# ----------------------------------------------------------------------------- worded


def format_duration(delta: timedelta, *, days: bool = False) -> str:
    """Human wording for chat: ``"10 min"``, ``"1 h 30 min"``, ``"45 s"``, ``"0 min"``.

    Hours run past a day (``"30 h"``) unless ``days`` is set: then ``"2 d 1 h"``.
    """
    if days:
        whole, left = divmod(delta, timedelta(days=1))
        return f"{whole} d {format_duration(left)}" if whole else format_duration(left)
    total = int(delta.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes or (not hours and not seconds):
        parts.append(f"{minutes} min")
    if seconds:
        parts.append(f"{seconds} s")
    return " ".join(parts)


def words_rounded(delta: timedelta) -> str:
    """Two largest units, rounded down: ``2 d 3 h``, ``1 h 30 min``, ``4 min``, ``under a
    minute`` (a tired reader does not need the seconds)."""
    if delta < _MIN:
        return "under a minute"
    days, rest = divmod(delta, timedelta(days=1))
    hours, rest = divmod(rest, timedelta(hours=1))
    minutes = rest // _MIN
    units = [(days, "d"), (hours, "h"), (minutes, "min")]
    first = next(i for i, (n, _) in enumerate(units) if n)
    return " ".join(f"{n} {u}" for n, u in units[first : first + 2] if n)


def words_table(d: timedelta | None) -> str:
    """A duration as a person reads it, in its two largest units, rounded down to seconds.

    ``42 s``, ``4 min 12 s``, ``4 min``, ``2 h 05 min``, ``2 h``, ``1 d 3 h``, ``1 d``;
    ``None`` is ``—`` (did not happen). Minutes after hours are zero-padded so a column of
    durations lines up; a negative duration keeps its sign rather than hiding a clock problem.
    """
    if d is None:
        return "—"
    if d < timedelta(0):
        return "-" + words_table(-d)
    days, hours, minutes, seconds = _split(int(d.total_seconds()))
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    return f"{seconds} s"


def interval_words(interval: timedelta) -> str:
    """How often something repeats: ``30 s``, ``90 s``, ``2 min``, ``2.5 min``."""
    total = interval.total_seconds()
    return f"{total:g} s" if total < 120 else f"{total / 60:g} min"


def period_words(span: timedelta) -> str:
    """A period named by its unit: ``day``, ``2 hours``, ``90 minutes``; else compact."""
    for unit, size in (
        ("day", timedelta(days=1)),
        ("hour", timedelta(hours=1)),
        ("minute", timedelta(minutes=1)),
    ):
        if span >= size and not span % size:
            n = span // size
            return unit if n == 1 else f"{n} {unit}s"
    return short_rounded(span)
