"""Checks shared by every inbound alert parser, so all formats fail the same way.

Each helper takes the decoded JSON value and the *field path* that leads to it
(``alerts[2].labels.alertname``) and either returns the value narrowed to a Python type or
raises ``ValidationError`` naming that path. Parsers never build error paths by hand: they
call ``child`` and ``item`` so the paths a sender sees are uniform across formats.

The size bounds exist because alert payloads come from the network: a runaway template or
a misconfigured sender must be refused with a precise message, not stored and rendered
into chat.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone

from bot.core.errors import ValidationError
from bot.ingest.model import AlertStatus

MAX_ALERTS = 1000
"""Most alerts accepted in one post; Alertmanager's own ``max_alerts`` is usually far lower."""

MAX_LABEL_VALUE = 1024
MAX_ANNOTATION_VALUE = 16384

ROOT = "payload"
"""The field name reported when the whole document is wrong (the empty path)."""

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_PLAIN_KEY = _LABEL_NAME
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
_MAX_FRACTION_DIGITS = 9  # Go's RFC3339Nano; Python keeps 6 of them (microseconds)
_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)  # Go's time.Time{}: "not set"
_STATUSES: tuple[AlertStatus, ...] = ("firing", "resolved")


def fail(path: str, message: str) -> ValidationError:
    """Build the error for ``path``; the empty path (the whole document) reads as ``payload``.

    Returned rather than raised so call sites read ``raise fail(...)`` and type checkers see
    that control stops there.
    """
    return ValidationError(path or ROOT, message)


def child(path: str, key: str) -> str:
    """Path of ``key`` inside the object at ``path``: ``alerts[0].labels`` + ``severity``.

    Keys that are not identifiers (``"team-name"``) are quoted in brackets, so the path stays
    unambiguous even for label names we are about to reject.
    """
    if _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def item(path: str, index: int) -> str:
    """Path of element ``index`` of the array at ``path``: ``alerts[2]``."""
    return f"{path}[{index}]"


def json_type(value: object) -> str:
    """Name ``value``'s type as JSON does, for messages a sender can act on."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def require_object(value: object, path: str) -> dict[str, object]:
    """Return ``value`` as a JSON object, or fail naming ``path``."""
    if not isinstance(value, dict):
        raise fail(path, f"must be an object, not {json_type(value)}")
    for key in value:
        if not isinstance(key, str):
            raise fail(path, f"object keys must be strings, not {json_type(key)}")
    return value


def require_string(value: object, path: str) -> str:
    """Return ``value`` as a string, or fail naming ``path`` (missing reads as required)."""
    if value is None:
        raise fail(path, "is required")
    if not isinstance(value, str):
        raise fail(path, f"must be a string, not {json_type(value)}")
    return value


def optional_string(value: object, path: str) -> str | None:
    """Return ``value`` as a string, or None when absent or null (Go marshals nil as null)."""
    if value is None:
        return None
    return require_string(value, path)


def bounded_text(value: object, path: str, *, max_len: int) -> str:
    """Return a required, non-blank string stripped of surrounding space, at most ``max_len``."""
    text = require_string(value, path).strip()
    if not text:
        raise fail(path, "must not be empty")
    if len(text) > max_len:
        raise fail(path, f"must be at most {max_len} characters, got {len(text)}")
    return text


def string_map(
    value: object, path: str, *, max_value_len: int, label_names: bool
) -> dict[str, str]:
    """Return an object of string to string, or fail naming the offending entry.

    ``label_names`` enforces Prometheus's label name syntax on the keys: labels feed the
    fingerprint and grouping, so a name Alertmanager itself would refuse is a sender bug.
    Absent or null means empty, because Go marshals an empty map that way.
    """
    if value is None:
        return {}
    obj = require_object(value, path)
    result: dict[str, str] = {}
    for key, raw in obj.items():
        entry = child(path, key)
        if label_names and not _LABEL_NAME.fullmatch(key):
            raise fail(entry, "label name must match [a-zA-Z_][a-zA-Z0-9_]*")
        if not isinstance(raw, str):
            raise fail(entry, f"must be a string, not {json_type(raw)}")
        if len(raw) > max_value_len:
            raise fail(entry, f"must be at most {max_value_len} characters, got {len(raw)}")
        result[key] = raw
    return result


def labels_map(value: object, path: str) -> dict[str, str]:
    """Validate a label set (Prometheus names, values up to ``MAX_LABEL_VALUE``)."""
    return string_map(value, path, max_value_len=MAX_LABEL_VALUE, label_names=True)


def annotations_map(value: object, path: str) -> dict[str, str]:
    """Validate annotations: free-form names, values up to ``MAX_ANNOTATION_VALUE``."""
    return string_map(value, path, max_value_len=MAX_ANNOTATION_VALUE, label_names=False)


def bounded_list(value: object, path: str, *, most: int, noun: str) -> list[object]:
    """Return the required, non-empty array at ``path`` of at most ``most`` ``noun``s."""
    if value is None:
        raise fail(path, "is required")
    if not isinstance(value, list):
        raise fail(path, f"must be an array, not {json_type(value)}")
    if not value:
        raise fail(path, f"must contain at least one {noun}")
    if len(value) > most:
        raise fail(path, f"must contain at most {most} {noun}s, got {len(value)}")
    return value


def alert_list(value: object, path: str) -> list[object]:
    """Return the non-empty, bounded array of alerts at ``path``."""
    return bounded_list(value, path, most=MAX_ALERTS, noun="alert")


def alert_status(value: object, path: str) -> AlertStatus:
    """Return ``firing`` or ``resolved``; anything else names ``path``."""
    text = require_string(value, path)
    for status in _STATUSES:
        if text == status:
            return status
    raise fail(path, f'must be "firing" or "resolved", not {json.dumps(text[:40])}')


def parse_rfc3339(value: object, path: str) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime.

    Written by hand rather than with ``datetime.fromisoformat`` because Go (Alertmanager,
    Grafana) emits up to nine fractional digits, which Python cannot hold: the extra digits
    are truncated to microseconds. ISO 8601 forms that are not RFC 3339 (no offset, week
    dates, a space instead of ``T``) are refused, so a naive timestamp never sneaks in.
    """
    text = require_string(value, path)
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise fail(path, 'must be an RFC 3339 timestamp such as "2026-11-24T21:23:33Z"')
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    if fraction is not None and len(fraction) > _MAX_FRACTION_DIGITS:
        raise fail(path, f"must have at most {_MAX_FRACTION_DIGITS} fractional second digits")
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    if zulu:
        tz = UTC
    else:
        if int(off_h) > 23 or int(off_m) > 59:
            raise fail(path, "has an invalid UTC offset")
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        tz = timezone(-offset if sign == "-" else offset)
    try:
        parsed = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tz
        )
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise fail(path, "is not a valid date and time") from None


def is_zero_time(moment: datetime) -> bool:
    """True for Go's zero ``time.Time`` (``0001-01-01T00:00:00Z``), which means "unset"."""
    return moment == _ZERO_TIME


def required_time(value: object, path: str) -> datetime:
    """Parse a timestamp that must be present and set (not Go's zero time)."""
    moment = parse_rfc3339(value, path)
    if is_zero_time(moment):
        raise fail(path, "must be set, not the zero time 0001-01-01T00:00:00Z")
    return moment


def optional_time(value: object, path: str) -> datetime | None:
    """Parse a timestamp where absent, null and Go's zero time all mean "not set"."""
    if value is None:
        return None
    moment = parse_rfc3339(value, path)
    return None if is_zero_time(moment) else moment


def finite_float(text: str) -> float | None:
    """Read a number out of free text (an annotation), or None if it is not a finite number.

    Non-finite values are dropped because NaN compares false to every threshold and neither
    NaN nor infinity survives a round trip through JSON.
    """
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def severity_from_labels(labels: Mapping[str, str]) -> str | None:
    """The ``severity`` label, lower-cased, as a hint for the priority rules; None if blank."""
    severity = labels.get("severity", "").strip().lower()
    return severity or None
