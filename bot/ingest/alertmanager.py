"""Alertmanager's webhook payload (version 4) parsed into ``AlertIn`` values, without I/O.

The format is Alertmanager's ``webhook_config`` body: top-level ``version``, ``groupKey``,
``truncatedAlerts``, ``status``, ``receiver``, ``groupLabels``, ``commonLabels``,
``commonAnnotations``, ``externalURL`` and ``alerts``. Only ``version`` and ``alerts`` carry
what an incident needs; the group-level fields are derived from the alerts and are ignored,
as is every field we do not know (Grafana adds ``orgId``, ``state``, ``title``, ``message``,
and per alert ``silenceURL``, ``dashboardURL``, ``panelURL``, ``values``, ``imageURL``).

Grafana's own webhook contact point sends this same body but labels it ``"version": "1"``
(its own counter) alongside ``orgId``. That pair is accepted too, because refusing it would
turn away every Grafana-managed alert while the body is identical in every field we read.

Per alert:

* ``status``: ``firing`` or ``resolved`` (required).
* ``labels``: object of string to string with Prometheus label names, must hold a non-empty
  ``alertname`` (required).
* ``annotations``: object of string to string (optional).
* ``startsAt``: RFC 3339 (required). ``endsAt``: RFC 3339, where ``0001-01-01T00:00:00Z``
  means unset. A firing alert's ``endsAt`` is only a projected expiry, so it becomes None.
* ``generatorURL``: optional string. ``fingerprint``: optional 16 hex digits, kept when
  given (it is the identity Alertmanager uses), else computed from the labels.

``truncatedAlerts`` is not an error: Alertmanager already dropped those alerts, and they
arrive again on the next group notification once fewer are pending.
"""

from __future__ import annotations

import re

from bot.incidents.intake.fingerprint import fingerprint
from bot.ingest.model import AlertIn
from bot.ingest.validate import (
    alert_list,
    alert_status,
    annotations_map,
    child,
    fail,
    finite_float,
    item,
    labels_map,
    optional_string,
    optional_time,
    require_object,
    required_time,
    severity_from_labels,
)

SOURCE = "alertmanager"
SUPPORTED_VERSION = "4"
_GRAFANA_VERSION = "1"  # Grafana's webhook body: v4 plus extras, marked by ``orgId``
_FINGERPRINT = re.compile(r"[0-9a-fA-F]{16}")
_SUBJECT_LABELS = ("service", "model", "job", "instance")
"""Labels that name *what* is alerting, tried in order when a title must be made up."""


def parse_alertmanager(payload: object) -> list[AlertIn]:
    """Parse one decoded webhook body into its alerts, in the order they were sent.

    Raises ``ValidationError`` whose ``field`` is the path to the first mistake found, such
    as ``version`` or ``alerts[2].labels.alertname``.
    """
    body = require_object(payload, "")
    _check_version(body)
    alerts = alert_list(body.get("alerts"), "alerts")
    return [_parse_alert(raw, item("alerts", i)) for i, raw in enumerate(alerts)]


def _check_version(body: dict[str, object]) -> None:
    """Refuse payload versions whose shape we have not verified against this parser."""
    version = body.get("version")
    if version == SUPPORTED_VERSION:
        return
    if version == _GRAFANA_VERSION and "orgId" in body:
        return
    if version is None:
        raise fail("version", f'is required and must be "{SUPPORTED_VERSION}"')
    shown = repr(version)[:40] if not isinstance(version, str) else f'"{version[:40]}"'
    raise fail("version", f'must be "{SUPPORTED_VERSION}", not {shown}')


def _parse_alert(raw: object, path: str) -> AlertIn:
    """Parse ``alerts[i]``; every error names a path under ``path``."""
    alert = require_object(raw, path)
    status = alert_status(alert.get("status"), child(path, "status"))

    labels_path = child(path, "labels")
    if alert.get("labels") is None:
        raise fail(labels_path, "is required")
    labels = labels_map(alert["labels"], labels_path)
    if not labels.get("alertname", "").strip():
        raise fail(child(labels_path, "alertname"), "is required and must not be empty")

    annotations = annotations_map(alert.get("annotations"), child(path, "annotations"))
    starts_at = required_time(alert.get("startsAt"), child(path, "startsAt"))
    ends_at = optional_time(alert.get("endsAt"), child(path, "endsAt"))
    generator_url = optional_string(alert.get("generatorURL"), child(path, "generatorURL"))
    value_text = annotations.get("value")

    return AlertIn(
        source=SOURCE,
        status=status,
        title=_title(labels, annotations),
        labels=labels,
        fingerprint=_fingerprint(alert.get("fingerprint"), child(path, "fingerprint"), labels),
        starts_at=starts_at,
        annotations=annotations,
        ends_at=ends_at if status == "resolved" else None,
        value=finite_float(value_text) if value_text is not None else None,
        severity_hint=severity_from_labels(labels),
        generator_url=generator_url or None,
    )


def _fingerprint(value: object, path: str, labels: dict[str, str]) -> str:
    """Keep the sender's fingerprint when it has one, so we share Alertmanager's identity."""
    supplied = optional_string(value, path)
    if not supplied:
        return fingerprint(labels)
    if not _FINGERPRINT.fullmatch(supplied):
        raise fail(path, "must be 16 hexadecimal digits")
    return supplied.lower()


def _title(labels: dict[str, str], annotations: dict[str, str]) -> str:
    """Pick the line a human will read: summary, else description's first line, else labels.

    The fallback names the subject (``HighErrorRate on payments``) because an alertname alone
    rarely says which of several services is hurting.
    """
    summary = annotations.get("summary", "").strip()
    if summary:
        return summary
    for line in annotations.get("description", "").splitlines():
        if line.strip():
            return line.strip()
    alertname = labels["alertname"].strip()
    subject = next((labels[n].strip() for n in _SUBJECT_LABELS if labels.get(n, "").strip()), "")
    return f"{alertname} on {subject}" if subject else alertname
