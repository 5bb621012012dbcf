"""Vigil's own small alert format, for senders that are not Alertmanager.

Scripts, model monitors and nightly evaluations can post alerts without speaking
Alertmanager's webhook format. A body is either one alert object, or ``{"alerts": [...]}``
holding 1 to 1000 of them::

    {
      "title": "Accuracy below SLA on fraud-scorer",
      "severity": "critical",
      "labels": {"alertname": "ModelAccuracyBelowSLA", "model": "fraud-scorer"},
      "value": 0.71,
      "source": "nightly-eval",
      "status": "firing",
      "annotations": {"runbook_url": "https://runbooks.example/fraud-scorer"},
      "starts_at": "2026-11-24T21:23:33Z"
    }

Fields:

``title`` (required)
    Non-empty string, at most 300 characters; what people read in chat.
``severity``
    A hint for the priority rules: ``critical``, ``error``, ``warning``, ``info``, ``P1``,
    ``P2``, ``P3`` or ``P4``, any case; stored lower-cased. Without it, a ``severity`` label
    is used as the hint, as for Alertmanager alerts.
``labels``
    Object of string to string. Names follow Prometheus (``[a-zA-Z_][a-zA-Z0-9_]*``), values
    are at most 1024 characters. If there is no ``alertname`` label, the title is used.
    Labels decide the alert's identity: the same labels are the same alert, so a later post
    with ``"status": "resolved"`` and the same labels resolves it.
``value``
    A number (not a string, not a boolean), such as the measured accuracy.
``source``
    Who sent it, at most 100 characters; default ``generic``.
``status``
    ``firing`` (default) or ``resolved``. A resolved alert ends at the time it is received.
``annotations``
    Object of string to string, values at most 16384 characters (runbook links, details).
``starts_at``
    RFC 3339 timestamp with an offset or ``Z``; default: the time the alert is received.

Any other field is refused, so that a typo such as ``startsAt`` or ``serverity`` is
reported instead of silently ignored. Errors name the field: ``value`` for a single alert,
``alerts[1].value`` in the list form.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from bot.incidents.intake.fingerprint import fingerprint
from bot.ingest.model import AlertIn
from bot.ingest.validate import (
    alert_list,
    alert_status,
    annotations_map,
    bounded_text,
    child,
    fail,
    item,
    json_type,
    labels_map,
    require_object,
    required_time,
    severity_from_labels,
)

DEFAULT_SOURCE = "generic"
MAX_TITLE = 300
MAX_SOURCE = 100
SEVERITIES = frozenset({"critical", "error", "warning", "info", "p1", "p2", "p3", "p4"})
_FIELDS = frozenset(
    {"title", "severity", "labels", "value", "source", "status", "annotations", "starts_at"}
)


def parse_generic(payload: object, *, now: datetime) -> list[AlertIn]:
    """Parse one decoded body (a single alert or ``{"alerts": [...]}``) into alerts.

    ``now`` is the receive time, injected so parsing stays pure and testable; it fills in
    ``starts_at`` when absent and ``ends_at`` of resolved alerts. It must be timezone-aware.
    Raises ``ValidationError`` naming the first wrong field.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    received = now.astimezone(UTC)
    body = require_object(payload, "")
    if "alerts" not in body:
        return [_parse_alert(body, "", received)]
    extra = sorted(set(body) - {"alerts"})
    if extra:
        raise fail(child("", extra[0]), 'unknown field; the list form holds only "alerts"')
    alerts = alert_list(body["alerts"], "alerts")
    return [
        _parse_alert(require_object(raw, item("alerts", i)), item("alerts", i), received)
        for i, raw in enumerate(alerts)
    ]


def _parse_alert(alert: dict[str, object], path: str, now: datetime) -> AlertIn:
    """Parse one alert object whose fields live under ``path`` (empty for the single form)."""
    unknown = sorted(set(alert) - _FIELDS)
    if unknown:
        allowed = ", ".join(sorted(_FIELDS))
        raise fail(child(path, unknown[0]), f"unknown field; allowed fields are {allowed}")

    title = bounded_text(alert.get("title"), child(path, "title"), max_len=MAX_TITLE)
    labels = labels_map(alert.get("labels"), child(path, "labels"))
    if not labels.get("alertname", "").strip():
        labels["alertname"] = title
    status = (
        "firing"
        if alert.get("status") is None
        else alert_status(alert["status"], child(path, "status"))
    )
    source = (
        DEFAULT_SOURCE
        if alert.get("source") is None
        else bounded_text(alert["source"], child(path, "source"), max_len=MAX_SOURCE)
    )
    starts_at = (
        now
        if alert.get("starts_at") is None
        else required_time(alert["starts_at"], child(path, "starts_at"))
    )
    severity = _severity(alert.get("severity"), child(path, "severity"))

    return AlertIn(
        source=source,
        status=status,
        title=title,
        labels=labels,
        fingerprint=fingerprint(labels),
        starts_at=starts_at,
        annotations=annotations_map(alert.get("annotations"), child(path, "annotations")),
        ends_at=now if status == "resolved" else None,
        value=_value(alert.get("value"), child(path, "value")),
        severity_hint=severity if severity is not None else severity_from_labels(labels),
    )


def _severity(value: object, path: str) -> str | None:
    """Validate the severity hint against the documented words, returning it lower-cased."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail(path, f"must be a string, not {json_type(value)}")
    severity = value.strip().lower()
    if severity not in SEVERITIES:
        raise fail(
            path,
            f"must be one of critical, error, warning, info, P1, P2, P3, P4; "
            f"not {json.dumps(value[:40])}",
        )
    return severity


def _value(value: object, path: str) -> float | None:
    """Accept a JSON number only: ``"0.71"`` or ``true`` are sender bugs worth reporting."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(path, f"must be a number, not {json_type(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise fail(path, "must be a finite number") from None
    if not math.isfinite(number):
        raise fail(path, "must be a finite number")
    return number
