"""Schedules from ``vigil.yaml``: the ``schedules:`` section, checked and parsed.

Separate from ``layers.py`` because the two jobs differ. This module is config validation:
it refuses unknown keys, explains the common YAML slips, and names the exact offending key in
every :class:`~bot.core.errors.ConfigError` (``schedules.ml-oncall.layers[0].rotation``).
``layers.py`` is the time maths on values already known to be valid (rotations, layers,
overrides across DST) and knows nothing of YAML. The format::

    schedules:
      ml-oncall:
        tz: Europe/Berlin                     # IANA zone; layers may set their own tz
        layers:                               # lowest first
          - name: primary
            rotation: weekly                  # daily | weekly | a duration: 3d, 12h (>= 1h)
            handoff: "2026-03-02T09:00"       # local time in tz: the first shift starts here
            participants: ["@maya", "@sam", "@lee"]
          - name: business-hours-lead
            rotation: daily
            handoff: "2026-03-02T09:00"
            participants: ["@ana"]
            restrict: {days: [mon-fri], from: "09:00", to: "17:00"}
        overrides:                            # later ones win where they overlap
          - {person: "@lee", start: "2026-12-24T18:00", end: "2026-12-26T09:00", reason: swap}

``restrict`` is optional: ``days`` (mon … sun, ranges like ``mon-fri``; default every day),
``from`` (default ``"00:00"``) and ``to`` (default ``"24:00"``); ``to`` before ``from`` is an
overnight window that starts on a listed day. Times of day must be quoted: YAML 1.1 reads
an unquoted ``09:00`` as the number 540. A layer's ``name`` defaults to ``layer-N``; its
``tz`` to the schedule's. Override times are local in the schedule's tz unless they carry an
offset (``2026-12-24T18:00+01:00``).

Local times follow the rules in ``layers.py``'s docstring (a repeated reading is its first
occurrence, a skipped one the instant the clocks jump).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.durations import parse_duration
from bot.core.errors import ConfigError
from bot.oncall.paging.escalation import _refuse_unknown
from bot.oncall.schedules.layers import (
    MIN_ROTATION,
    Layer,
    Override,
    Restriction,
    Schedule,
    local_to_utc,
)
from bot.oncall.schedules.roster import parse_named, parse_tz

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SCHEDULE_KEYS = {"tz", "layers", "overrides"}
_LAYER_KEYS = {"name", "rotation", "handoff", "participants", "tz", "restrict"}
_RESTRICT_KEYS = {"days", "from", "to"}
_OVERRIDE_KEYS = {"person", "start", "end", "reason"}
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")


def parse_schedules(raw: object, *, where: str, key: str = "schedules") -> dict[str, Schedule]:
    """``schedules:`` mapping (name → schedule) → Schedules, or ConfigError naming the key."""
    return parse_named(raw, parse_schedule, what="schedule", where=where, key=key)


def parse_schedule(name: str, raw: object, *, where: str, key: str) -> Schedule:
    if not isinstance(raw, dict):
        raise ConfigError("must be a mapping with 'tz' and 'layers'", where=where, key=key)
    _refuse_unknown(raw, _SCHEDULE_KEYS, where=where, key=key)
    if "tz" not in raw:
        raise ConfigError("missing", where=where, key=f"{key}.tz")
    tz = parse_tz(raw["tz"], where=where, key=f"{key}.tz")
    layers_raw = raw.get("layers")
    if not isinstance(layers_raw, list) or not layers_raw:
        raise ConfigError("needs at least one layer", where=where, key=f"{key}.layers")
    layers: list[Layer] = []
    for i, item in enumerate(layers_raw):
        layer = _parse_layer(i, item, tz, where=where, key=f"{key}.layers[{i}]")
        if any(other.name == layer.name for other in layers):
            raise ConfigError(
                f"another layer is already named {layer.name!r}",
                where=where,
                key=f"{key}.layers[{i}].name",
            )
        layers.append(layer)
    overrides_raw = raw.get("overrides") or []
    if not isinstance(overrides_raw, list):
        raise ConfigError("must be a list of overrides", where=where, key=f"{key}.overrides")
    overrides = tuple(
        _parse_override(item, tz, where=where, key=f"{key}.overrides[{i}]")
        for i, item in enumerate(overrides_raw)
    )
    return Schedule(name, tz, tuple(layers), overrides)


def _parse_layer(index: int, raw: object, tz: ZoneInfo, *, where: str, key: str) -> Layer:
    if not isinstance(raw, dict):
        raise ConfigError("must be a mapping", where=where, key=key)
    _refuse_unknown(raw, _LAYER_KEYS, where=where, key=key)
    for field in ("rotation", "handoff", "participants"):
        if field not in raw:
            raise ConfigError("missing", where=where, key=f"{key}.{field}")
    name = raw.get("name", f"layer-{index + 1}")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("must be a non-empty string", where=where, key=f"{key}.name")
    people = raw["participants"]
    if not isinstance(people, list) or not people or not all(_is_person(p) for p in people):
        raise ConfigError(
            "must list at least one '@person'", where=where, key=f"{key}.participants"
        )
    length = _parse_rotation(raw["rotation"], where=where, key=f"{key}.rotation")
    if "tz" in raw:
        tz = parse_tz(raw["tz"], where=where, key=f"{key}.tz")
    handoff = _parse_local(raw["handoff"], where=where, key=f"{key}.handoff")
    if handoff.tzinfo is not None:
        handoff = handoff.astimezone(tz).replace(tzinfo=None)
    restrict = None
    if raw.get("restrict") is not None:
        restrict = _parse_restriction(raw["restrict"], where=where, key=f"{key}.restrict")
    return Layer(name.strip(), tuple(people), length, handoff, tz, restrict)


def _parse_rotation(raw: object, *, where: str, key: str) -> timedelta:
    named = {"daily": timedelta(days=1), "weekly": timedelta(weeks=1)}
    if isinstance(raw, str) and raw.strip().lower() in named:
        return named[raw.strip().lower()]
    try:
        length = parse_duration(raw)
    except ValueError as exc:
        raise ConfigError(
            f"must be daily, weekly or a duration: {exc}", where=where, key=key
        ) from None
    if length < MIN_ROTATION:
        raise ConfigError("a rotation must last at least 1h", where=where, key=key)
    return length


def _parse_restriction(raw: object, *, where: str, key: str) -> Restriction:
    if not isinstance(raw, dict):
        raise ConfigError(
            "must be a mapping such as {days: [mon-fri], from: '09:00', to: '17:00'}",
            where=where,
            key=key,
        )
    _refuse_unknown(raw, _RESTRICT_KEYS, where=where, key=key)
    days = _parse_days(raw.get("days", ["mon-sun"]), where=where, key=f"{key}.days")
    start = _parse_clock(raw.get("from", "00:00"), where=where, key=f"{key}.from")
    end = _parse_clock(raw.get("to", "24:00"), where=where, key=f"{key}.to")
    if start == 1440:
        raise ConfigError("must be a time of day before 24:00", where=where, key=f"{key}.from")
    if start == end % 1440 and not (start == 0 and end == 1440):
        raise ConfigError(
            "from and to are the same time; for the whole day leave both out",
            where=where,
            key=f"{key}.to",
        )
    return Restriction(days, start, end)


def _parse_days(raw: object, *, where: str, key: str) -> frozenset[int]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        raise ConfigError("must list days such as [mon, tue] or [mon-fri]", where=where, key=key)
    days: set[int] = set()
    for j, item in enumerate(items):
        text = item.strip().lower() if isinstance(item, str) else ""
        first, _, last = text.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise ConfigError(
                f"{item!r} is not a day; use {', '.join(DAY_NAMES)} or a range like mon-fri",
                where=where,
                key=f"{key}[{j}]",
            )
        a = DAY_NAMES.index(first)
        b = DAY_NAMES.index(last) if last else a
        days.update((a + k) % 7 for k in range((b - a) % 7 + 1))
    return frozenset(days)


def _parse_clock(raw: object, *, where: str, key: str) -> int:
    """``"09:00"`` → 540 minutes after midnight; ``"24:00"`` → 1440."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raise ConfigError(
            f"quote the time of day: YAML read it as the number {raw}; write '09:00'",
            where=where,
            key=key,
        )
    if not isinstance(raw, str) or not _CLOCK.fullmatch(raw.strip()):
        raise ConfigError(
            f"must be a time of day HH:MM from 00:00 to 24:00, not {raw!r}", where=where, key=key
        )
    hours, minutes = raw.strip().split(":")
    return int(hours) * 60 + int(minutes)


def _parse_override(raw: object, tz: ZoneInfo, *, where: str, key: str) -> Override:
    if not isinstance(raw, dict):
        raise ConfigError("must be a mapping with person, start and end", where=where, key=key)
    _refuse_unknown(raw, _OVERRIDE_KEYS, where=where, key=key)
    for field in ("person", "start", "end"):
        if field not in raw:
            raise ConfigError("missing", where=where, key=f"{key}.{field}")
    if not _is_person(raw["person"]):
        raise ConfigError(
            f"must be '@person', not {raw['person']!r}", where=where, key=f"{key}.person"
        )
    start, end = (
        _instant(_parse_local(raw[f], where=where, key=f"{key}.{f}"), tz) for f in ("start", "end")
    )
    if end <= start:
        raise ConfigError("must be after start", where=where, key=f"{key}.end")
    reason = raw.get("reason", "")
    if not isinstance(reason, str):
        raise ConfigError("must be text", where=where, key=f"{key}.reason")
    return Override(raw["person"], start, end, reason.strip())


def _parse_local(raw: object, *, where: str, key: str) -> datetime:
    """A date and time (YAML may hand us a datetime already); no bare dates, which would
    silently mean midnight."""
    value: object = raw
    if isinstance(raw, str) and ":" in raw:
        try:
            value = datetime.fromisoformat(raw.strip())
        except ValueError:
            value = None
    if not isinstance(value, datetime):
        hint = " (a date alone has no time of day)" if isinstance(raw, date) else ""
        raise ConfigError(
            f"must be a local date and time like 2026-03-02T09:00, not {raw!r}{hint}",
            where=where,
            key=key,
        )
    return value


def _instant(value: datetime, tz: ZoneInfo) -> datetime:
    return local_to_utc(value, tz) if value.tzinfo is None else value.astimezone(UTC)


def _is_person(value: object) -> bool:
    return (
        isinstance(value, str)
        and value.startswith("@")
        and len(value) > 1
        and not any(c.isspace() for c in value)
    )
