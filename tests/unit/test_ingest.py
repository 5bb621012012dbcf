"""Inbound alert parsers: real payloads parse to the expected alerts, mistakes name the field.

The Alertmanager fixtures are shaped exactly as Alertmanager (and Grafana) post them; the
error cases mutate a copy of a real payload one field at a time, so each test proves that
one mistake alone is caught and reported at the right path.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bot.core.errors import ValidationError
from bot.incidents.intake.fingerprint import fingerprint
from bot.ingest.alertmanager import parse_alertmanager
from bot.ingest.generic import parse_generic
from bot.ingest.model import AlertIn
from bot.ingest.validate import MAX_ALERTS, parse_rfc3339

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NOW = datetime(2026, 11, 24, 22, 0, 0, tzinfo=UTC)

Payload = dict[str, Any]
Mutation = Callable[[Payload], object]


def load(name: str) -> Payload:
    data: Payload = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def firing() -> Payload:
    return load("alertmanager-v4-firing.json")


@dataclass(frozen=True)
class Replace:
    """Returned by a mutation that swaps the whole payload (other return values are ignored,
    so ``dict.pop`` and ``dict.update`` can be used directly in lambdas)."""

    payload: object


def mutated(mutate: Mutation, base: Payload | None = None) -> object:
    """Apply ``mutate`` to a fresh copy of ``base`` (default: the captured firing payload)."""
    payload = copy.deepcopy(base if base is not None else firing())
    result = mutate(payload)
    return result.payload if isinstance(result, Replace) else payload


# --- Alertmanager: real payloads -------------------------------------------------------


def test_captured_firing_payload_parses_to_one_alert() -> None:
    alerts = parse_alertmanager(firing())

    assert alerts == [
        AlertIn(
            source="alertmanager",
            status="firing",
            title="5xx ratio above 5% on payments",
            labels={
                "alertname": "HighErrorRate",
                "env": "test",
                "service": "payments",
                "severity": "critical",
            },
            fingerprint="420abf6469f5137f",
            starts_at=datetime(2026, 11, 24, 21, 23, 33, tzinfo=UTC),
            annotations={
                "runbook_url": "https://runbooks.example/payments-5xx",
                "summary": "5xx ratio above 5% on payments",
            },
            ends_at=None,
            value=None,
            severity_hint="critical",
            generator_url="http://127.0.0.1:19090/graph?g0.expr=job%3Aerrors%3Arate5m",
        )
    ]
    assert alerts[0].starts_at.utcoffset() == timedelta(0)


def test_resolved_payload_keeps_identity_and_sets_end() -> None:
    (fired,) = parse_alertmanager(firing())
    (resolved,) = parse_alertmanager(load("alertmanager-v4-resolved.json"))

    assert resolved.status == "resolved"
    assert resolved.fingerprint == fired.fingerprint == "420abf6469f5137f"
    assert resolved.labels == fired.labels
    assert resolved.starts_at == fired.starts_at
    # Go's nanoseconds (.598140927) truncated to microseconds, in UTC.
    assert resolved.ends_at == datetime(2026, 11, 24, 21, 38, 48, 598140, tzinfo=UTC)
    assert resolved.ends_at.tzinfo is UTC


def test_multi_alert_payload_keeps_order_status_and_identity() -> None:
    alerts = parse_alertmanager(load("alertmanager-v4-multi.json"))

    assert [(a.labels["service"], a.status) for a in alerts] == [
        ("payments", "firing"),
        ("checkout", "firing"),
        ("search", "resolved"),
    ]
    assert [a.severity_hint for a in alerts] == ["critical", "warning", "warning"]
    assert [a.value for a in alerts] == [0.0731, 0.0562, 0.0504]
    assert len({a.fingerprint for a in alerts}) == 3
    for alert in alerts:
        assert alert.fingerprint == fingerprint(alert.labels)
    assert alerts[0].ends_at is None
    assert alerts[1].ends_at is None
    assert alerts[1].starts_at == datetime(2026, 11, 24, 21, 25, 3, 117846, tzinfo=UTC)
    assert alerts[2].ends_at == datetime(2026, 11, 24, 21, 24, 48, 361000, tzinfo=UTC)


def test_grafana_payload_with_extra_fields_parses() -> None:
    payload = load("grafana-webhook-firing.json")
    for extra in ("orgId", "state", "title", "message"):
        assert extra in payload
    for extra in ("silenceURL", "dashboardURL", "values"):
        assert extra in payload["alerts"][0]

    (alert,) = parse_alertmanager(payload)

    assert alert.status == "firing"
    assert alert.labels["model"] == "fraud-scorer"
    assert alert.title == "GPU memory on the fraud-scorer pool is above 90%."
    assert alert.severity_hint == "warning"
    assert alert.fingerprint == "c6eadffa33fcdf37"
    # +02:00 with microseconds, converted to UTC.
    assert alert.starts_at == datetime(2026, 11, 24, 20, 51, 3, 157076, tzinfo=UTC)
    assert alert.ends_at is None


def test_grafana_version_needs_grafana_marker() -> None:
    payload = firing()
    payload["version"] = "1"
    with pytest.raises(ValidationError) as exc:
        parse_alertmanager(payload)
    assert exc.value.field == "version"

    payload["orgId"] = 1
    assert len(parse_alertmanager(payload)) == 1


def test_unknown_fields_are_ignored() -> None:
    payload = firing()
    payload["somethingNew"] = {"nested": [1, 2]}
    payload["alerts"][0]["extra"] = None

    assert parse_alertmanager(payload) == parse_alertmanager(firing())


@pytest.mark.parametrize(
    ("supplied", "expected"),
    [
        pytest.param("0123456789abcdef", "0123456789abcdef", id="supplied-kept"),
        pytest.param("0123456789ABCDEF", "0123456789abcdef", id="supplied-lowercased"),
        pytest.param(None, "420abf6469f5137f", id="null-computed"),
        pytest.param("", "420abf6469f5137f", id="empty-computed"),
    ],
)
def test_fingerprint_supplied_or_computed(supplied: str | None, expected: str) -> None:
    payload = firing()
    payload["alerts"][0]["fingerprint"] = supplied
    assert parse_alertmanager(payload)[0].fingerprint == expected


def test_fingerprint_computed_when_absent() -> None:
    payload = firing()
    payload["alerts"][0]["labels"]["env"] = "prod"
    del payload["alerts"][0]["fingerprint"]

    (alert,) = parse_alertmanager(payload)

    assert alert.fingerprint == fingerprint(alert.labels)
    assert alert.fingerprint != "420abf6469f5137f"


@pytest.mark.parametrize(
    ("labels", "annotations", "title"),
    [
        pytest.param(
            {"alertname": "HighErrorRate", "service": "payments"},
            {"summary": "  Summary wins  ", "description": "not this"},
            "Summary wins",
            id="summary",
        ),
        pytest.param(
            {"alertname": "HighErrorRate", "service": "payments"},
            {"summary": " ", "description": "\n  First line\nsecond line"},
            "First line",
            id="description-first-line",
        ),
        pytest.param(
            {"alertname": "HighErrorRate", "service": "payments", "model": "m"},
            {},
            "HighErrorRate on payments",
            id="alertname-on-service",
        ),
        pytest.param(
            {"alertname": "DriftDetected", "model": "fraud-scorer"},
            {"description": ""},
            "DriftDetected on fraud-scorer",
            id="alertname-on-model",
        ),
        pytest.param({"alertname": "Watchdog"}, {}, "Watchdog", id="alertname-alone"),
    ],
)
def test_title_fallbacks(labels: dict[str, str], annotations: dict[str, str], title: str) -> None:
    payload = firing()
    payload["alerts"][0].update(labels=labels, annotations=annotations)
    del payload["alerts"][0]["fingerprint"]
    assert parse_alertmanager(payload)[0].title == title


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("0.71", 0.71, id="decimal"),
        pytest.param(" 42 ", 42.0, id="integer-with-space"),
        pytest.param("1e-3", 0.001, id="exponent"),
        pytest.param("71%", None, id="percent"),
        pytest.param("NaN", None, id="nan"),
        pytest.param("inf", None, id="infinity"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_value_annotation(text: str | None, value: float | None) -> None:
    payload = firing()
    if text is not None:
        payload["alerts"][0]["annotations"]["value"] = text
    assert parse_alertmanager(payload)[0].value == value


def test_severity_hint_lowercased_and_optional() -> None:
    payload = firing()
    payload["alerts"][0]["labels"]["severity"] = "Warning"
    assert parse_alertmanager(payload)[0].severity_hint == "warning"

    del payload["alerts"][0]["labels"]["severity"]
    assert parse_alertmanager(payload)[0].severity_hint is None


def test_firing_alert_ignores_projected_end() -> None:
    payload = firing()
    payload["alerts"][0]["endsAt"] = "2026-11-24T21:27:33Z"
    assert parse_alertmanager(payload)[0].ends_at is None


def test_optional_alert_fields_may_be_missing_or_null() -> None:
    payload = firing()
    alert = payload["alerts"][0]
    del alert["endsAt"], alert["generatorURL"]
    alert["annotations"] = None

    (parsed,) = parse_alertmanager(payload)

    assert parsed.annotations == {}
    assert parsed.ends_at is None
    assert parsed.generator_url is None
    assert parsed.title == "HighErrorRate on payments"


def test_size_limits_are_inclusive() -> None:
    payload = firing()
    payload["alerts"][0]["labels"]["service"] = "x" * 1024
    payload["alerts"][0]["annotations"]["summary"] = "y" * 16384
    payload["alerts"] = payload["alerts"] * MAX_ALERTS

    alerts = parse_alertmanager(payload)

    assert len(alerts) == MAX_ALERTS
    assert len(alerts[0].labels["service"]) == 1024


def _alert0(payload: Payload) -> dict[str, Any]:
    alert: dict[str, Any] = payload["alerts"][0]
    return alert


ALERTMANAGER_ERRORS: list[Any] = [
    pytest.param(lambda p: Replace([p]), "payload", id="payload-not-object"),
    pytest.param(lambda p: Replace("text"), "payload", id="payload-string"),
    pytest.param(lambda p: p.pop("version"), "version", id="version-missing"),
    pytest.param(lambda p: p.update(version="3"), "version", id="version-3"),
    pytest.param(lambda p: p.update(version=4), "version", id="version-number"),
    pytest.param(lambda p: p.pop("alerts"), "alerts", id="alerts-missing"),
    pytest.param(lambda p: p.update(alerts={"0": {}}), "alerts", id="alerts-not-list"),
    pytest.param(lambda p: p.update(alerts=[]), "alerts", id="alerts-empty"),
    pytest.param(
        lambda p: p.update(alerts=p["alerts"] * (MAX_ALERTS + 1)), "alerts", id="alerts-too-many"
    ),
    pytest.param(lambda p: p.update(alerts=["firing"]), "alerts[0]", id="alert-not-object"),
    pytest.param(
        lambda p: p.update(alerts=[*p["alerts"], None]), "alerts[1]", id="second-alert-null"
    ),
    pytest.param(lambda p: _alert0(p).pop("labels"), "alerts[0].labels", id="labels-missing"),
    pytest.param(
        lambda p: _alert0(p).update(labels=["a"]), "alerts[0].labels", id="labels-not-object"
    ),
    pytest.param(
        lambda p: _alert0(p)["labels"].pop("alertname"),
        "alerts[0].labels.alertname",
        id="alertname-missing",
    ),
    pytest.param(
        lambda p: _alert0(p)["labels"].update(alertname=" "),
        "alerts[0].labels.alertname",
        id="alertname-blank",
    ),
    pytest.param(
        lambda p: _alert0(p)["labels"].update(severity=1),
        "alerts[0].labels.severity",
        id="label-value-number",
    ),
    pytest.param(
        lambda p: _alert0(p)["labels"].update(severity=None),
        "alerts[0].labels.severity",
        id="label-value-null",
    ),
    pytest.param(
        lambda p: _alert0(p)["labels"].update({"team-name": "x"}),
        'alerts[0].labels["team-name"]',
        id="label-name-dash",
    ),
    pytest.param(
        lambda p: _alert0(p)["labels"].update({"1st": "x"}),
        'alerts[0].labels["1st"]',
        id="label-name-digit",
    ),
    pytest.param(
        lambda p: _alert0(p)["labels"].update(service="x" * 1025),
        "alerts[0].labels.service",
        id="label-value-too-long",
    ),
    pytest.param(
        lambda p: _alert0(p).update(annotations="summary"),
        "alerts[0].annotations",
        id="annotations-not-object",
    ),
    pytest.param(
        lambda p: _alert0(p)["annotations"].update(summary=["a"]),
        "alerts[0].annotations.summary",
        id="annotation-value-array",
    ),
    pytest.param(
        lambda p: _alert0(p)["annotations"].update(summary="y" * 16385),
        "alerts[0].annotations.summary",
        id="annotation-value-too-long",
    ),
    pytest.param(lambda p: _alert0(p).pop("status"), "alerts[0].status", id="status-missing"),
    pytest.param(
        lambda p: _alert0(p).update(status="pending"), "alerts[0].status", id="status-pending"
    ),
    pytest.param(
        lambda p: _alert0(p).update(status="FIRING"), "alerts[0].status", id="status-uppercase"
    ),
    pytest.param(lambda p: _alert0(p).pop("startsAt"), "alerts[0].startsAt", id="startsAt-missing"),
    pytest.param(
        lambda p: _alert0(p).update(startsAt="yesterday"),
        "alerts[0].startsAt",
        id="startsAt-garbage",
    ),
    pytest.param(
        lambda p: _alert0(p).update(startsAt="2026-11-24T21:23:33"),
        "alerts[0].startsAt",
        id="startsAt-naive",
    ),
    pytest.param(
        lambda p: _alert0(p).update(startsAt="0001-01-01T00:00:00Z"),
        "alerts[0].startsAt",
        id="startsAt-zero",
    ),
    pytest.param(
        lambda p: _alert0(p).update(startsAt=1764019413),
        "alerts[0].startsAt",
        id="startsAt-epoch-number",
    ),
    pytest.param(
        lambda p: _alert0(p).update(endsAt="2026-11-31T00:00:00Z"),
        "alerts[0].endsAt",
        id="endsAt-invalid-date",
    ),
    pytest.param(
        lambda p: _alert0(p).update(fingerprint="420abf6469f5137"),
        "alerts[0].fingerprint",
        id="fingerprint-15-digits",
    ),
    pytest.param(
        lambda p: _alert0(p).update(fingerprint="420abf6469f5137g"),
        "alerts[0].fingerprint",
        id="fingerprint-not-hex",
    ),
    pytest.param(
        lambda p: _alert0(p).update(generatorURL=7),
        "alerts[0].generatorURL",
        id="generatorURL-number",
    ),
]


@pytest.mark.parametrize(("mutate", "field"), ALERTMANAGER_ERRORS)
def test_alertmanager_errors_name_the_field(mutate: Mutation, field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_alertmanager(mutated(mutate))
    assert exc.value.field == field
    assert str(exc.value).startswith(f"{field}: ")


def test_error_path_points_at_later_alert() -> None:
    payload = load("alertmanager-v4-multi.json")
    del payload["alerts"][2]["labels"]["alertname"]
    with pytest.raises(ValidationError) as exc:
        parse_alertmanager(payload)
    assert exc.value.field == "alerts[2].labels.alertname"


def test_empty_alerts_message() -> None:
    with pytest.raises(ValidationError) as exc:
        parse_alertmanager(mutated(lambda p: p.update(alerts=[])))
    assert exc.value.detail == "must contain at least one alert"


# --- RFC 3339 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2026-11-24T21:23:33Z", datetime(2026, 11, 24, 21, 23, 33), id="zulu"),
        pytest.param("2026-11-24t21:23:33z", datetime(2026, 11, 24, 21, 23, 33), id="lowercase"),
        pytest.param(
            "2026-11-24T21:23:33.123456789Z",
            datetime(2026, 11, 24, 21, 23, 33, 123456),
            id="nanoseconds-truncated",
        ),
        pytest.param(
            "2026-11-24T21:23:33.999999999Z",
            datetime(2026, 11, 24, 21, 23, 33, 999999),
            id="nanoseconds-not-rounded",
        ),
        pytest.param(
            "2026-11-24T21:23:33.5Z", datetime(2026, 11, 24, 21, 23, 33, 500000), id="tenths"
        ),
        pytest.param(
            "2026-11-24T23:23:33+02:00", datetime(2026, 11, 24, 21, 23, 33), id="plus-offset"
        ),
        pytest.param(
            "2026-11-24T16:53:33.25-04:30",
            datetime(2026, 11, 24, 21, 23, 33, 250000),
            id="minus-offset-fraction",
        ),
        pytest.param(
            "2026-11-25T00:23:33.000000001+03:00",
            datetime(2026, 11, 24, 21, 23, 33),
            id="offset-crosses-midnight",
        ),
        pytest.param("0001-01-01T00:00:00Z", datetime(1, 1, 1), id="go-zero-time"),
    ],
)
def test_rfc3339_parses_to_aware_utc(text: str, expected: datetime) -> None:
    parsed = parse_rfc3339(text, "t")
    assert parsed == expected.replace(tzinfo=UTC)
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("2026-11-24", id="date-only"),
        pytest.param("2026-11-24T21:23:33", id="no-offset"),
        pytest.param("2026-11-24 21:23:33Z", id="space-separator"),
        pytest.param("2026-11-24T21:23Z", id="no-seconds"),
        pytest.param("2026-11-24T21:23:33.Z", id="empty-fraction"),
        pytest.param("2026-11-24T21:23:33.1234567890Z", id="ten-fraction-digits"),
        pytest.param("2026-11-24T21:23:33+0200", id="offset-without-colon"),
        pytest.param("2026-11-24T21:23:33+24:00", id="offset-hours-out-of-range"),
        pytest.param("2026-13-01T00:00:00Z", id="month-13"),
        pytest.param("2026-02-30T00:00:00Z", id="february-30"),
        pytest.param("2026-11-24T24:00:00Z", id="hour-24"),
        pytest.param("2026-11-24T21:23:60Z", id="leap-second"),
        pytest.param("0001-01-01T00:00:00+01:00", id="before-year-1-in-utc"),
        pytest.param("\uff12\uff10\uff12\uff16-11-24T21:23:33Z", id="non-ascii-digits"),
        pytest.param(" 2026-11-24T21:23:33Z", id="leading-space"),
        pytest.param(1764019413, id="number"),
        pytest.param(None, id="null"),
    ],
)
def test_rfc3339_rejects(text: object) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_rfc3339(text, "alerts[0].startsAt")
    assert exc.value.field == "alerts[0].startsAt"


# --- generic ----------------------------------------------------------------------------


def example() -> Payload:
    return {
        "title": "Accuracy below SLA on fraud-scorer",
        "severity": "critical",
        "labels": {"alertname": "ModelAccuracyBelowSLA", "model": "fraud-scorer"},
        "value": 0.71,
        "source": "nightly-eval",
        "status": "firing",
        "annotations": {"runbook_url": "https://runbooks.example/fraud-scorer"},
        "starts_at": "2026-11-24T21:00:00.123456789+01:00",
    }


def test_generic_documented_example() -> None:
    labels = {"alertname": "ModelAccuracyBelowSLA", "model": "fraud-scorer"}

    assert parse_generic(example(), now=NOW) == [
        AlertIn(
            source="nightly-eval",
            status="firing",
            title="Accuracy below SLA on fraud-scorer",
            labels=labels,
            fingerprint=fingerprint(labels),
            starts_at=datetime(2026, 11, 24, 20, 0, 0, 123456, tzinfo=UTC),
            annotations={"runbook_url": "https://runbooks.example/fraud-scorer"},
            ends_at=None,
            value=0.71,
            severity_hint="critical",
            generator_url=None,
        )
    ]


def test_generic_minimal_alert_gets_defaults() -> None:
    (alert,) = parse_generic({"title": "  Nightly eval failed  "}, now=NOW)

    assert alert.title == "Nightly eval failed"
    assert alert.labels == {"alertname": "Nightly eval failed"}
    assert alert.fingerprint == fingerprint({"alertname": "Nightly eval failed"})
    assert alert.source == "generic"
    assert alert.status == "firing"
    assert alert.starts_at == NOW
    assert alert.ends_at is None
    assert alert.value is None
    assert alert.severity_hint is None
    assert alert.annotations == {}


def test_generic_fingerprint_includes_filled_alertname() -> None:
    (alert,) = parse_generic({"title": "Drift", "labels": {"model": "m"}}, now=NOW)

    assert alert.labels == {"model": "m", "alertname": "Drift"}
    assert alert.fingerprint == fingerprint({"alertname": "Drift", "model": "m"})
    assert alert.fingerprint != fingerprint({"model": "m"})


def test_generic_list_form() -> None:
    second = {"title": "Latency p99 high", "labels": {"service": "ranker"}, "value": 3}
    alerts = parse_generic({"alerts": [example(), second]}, now=NOW)

    assert [a.title for a in alerts] == ["Accuracy below SLA on fraud-scorer", "Latency p99 high"]
    assert alerts[1].value == 3.0
    assert isinstance(alerts[1].value, float)
    assert alerts[1].labels == {"service": "ranker", "alertname": "Latency p99 high"}


def test_generic_resolved_ends_now() -> None:
    (alert,) = parse_generic({"title": "Drift", "status": "resolved"}, now=NOW)
    assert alert.status == "resolved"
    assert alert.ends_at == NOW


def test_generic_same_labels_same_identity_when_resolved() -> None:
    fired = parse_generic(example(), now=NOW)[0]
    resolved = parse_generic({**example(), "status": "resolved", "value": 0.93}, now=NOW)[0]
    assert resolved.fingerprint == fired.fingerprint


def test_generic_now_converted_to_utc_and_must_be_aware() -> None:
    cet = NOW.astimezone(timezone(timedelta(hours=1)))
    (alert,) = parse_generic({"title": "x"}, now=cet)
    assert alert.starts_at == NOW
    assert alert.starts_at.tzinfo is UTC

    with pytest.raises(ValueError, match="timezone-aware"):
        parse_generic({"title": "x"}, now=NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        ("critical", "critical"),
        ("ERROR", "error"),
        ("Warning", "warning"),
        ("info", "info"),
        ("P1", "p1"),
        ("p4", "p4"),
    ],
)
def test_generic_severity_case_insensitive(given: str, hint: str) -> None:
    assert parse_generic({"title": "x", "severity": given}, now=NOW)[0].severity_hint == hint


def test_generic_severity_falls_back_to_label() -> None:
    payload = {"title": "x", "labels": {"severity": "Warning"}}
    assert parse_generic(payload, now=NOW)[0].severity_hint == "warning"

    payload["severity"] = "P2"
    assert parse_generic(payload, now=NOW)[0].severity_hint == "p2"


def test_generic_title_limit_inclusive() -> None:
    (alert,) = parse_generic({"title": "t" * 300}, now=NOW)
    assert len(alert.title) == 300


def _set(**fields: object) -> Mutation:
    return lambda p: p.update(fields)


def _drop(name: str) -> Mutation:
    return lambda p: p.pop(name)


GENERIC_FIELD_ERRORS: list[Any] = [
    pytest.param(_drop("title"), "title", id="title-missing"),
    pytest.param(_set(title=""), "title", id="title-empty"),
    pytest.param(_set(title="   "), "title", id="title-blank"),
    pytest.param(_set(title=None), "title", id="title-null"),
    pytest.param(_set(title=42), "title", id="title-number"),
    pytest.param(_set(title="t" * 301), "title", id="title-too-long"),
    pytest.param(_set(value="0.71"), "value", id="value-string"),
    pytest.param(_set(value=True), "value", id="value-bool"),
    pytest.param(_set(value=float("nan")), "value", id="value-nan"),
    pytest.param(_set(value=10**400), "value", id="value-overflow"),
    pytest.param(_set(severity="urgent"), "severity", id="severity-unknown"),
    pytest.param(_set(severity="P5"), "severity", id="severity-p5"),
    pytest.param(_set(severity=1), "severity", id="severity-number"),
    pytest.param(_set(labels=["model"]), "labels", id="labels-array"),
    pytest.param(_set(labels="model=x"), "labels", id="labels-string"),
    pytest.param(_set(labels={"model": 3}), "labels.model", id="label-value-number"),
    pytest.param(_set(labels={"bad name": "x"}), 'labels["bad name"]', id="label-name-space"),
    pytest.param(_set(labels={"model": "m" * 1025}), "labels.model", id="label-too-long"),
    pytest.param(_set(status="open"), "status", id="status-bad"),
    pytest.param(_set(status=1), "status", id="status-number"),
    pytest.param(_set(starts_at="24/11/2026"), "starts_at", id="starts_at-bad"),
    pytest.param(_set(starts_at="2026-11-24T21:00:00"), "starts_at", id="starts_at-naive"),
    pytest.param(_set(source=""), "source", id="source-empty"),
    pytest.param(_set(source="s" * 101), "source", id="source-too-long"),
    pytest.param(_set(annotations=[]), "annotations", id="annotations-array"),
    pytest.param(_set(annotations={"a": 1}), "annotations.a", id="annotation-value-number"),
    pytest.param(_set(startsAt=NOW.isoformat()), "startsAt", id="unknown-field-typo"),
]


@pytest.mark.parametrize(("mutate", "field"), GENERIC_FIELD_ERRORS)
def test_generic_single_form_errors(mutate: Mutation, field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_generic(mutated(mutate, example()), now=NOW)
    assert exc.value.field == field


@pytest.mark.parametrize(("mutate", "field"), GENERIC_FIELD_ERRORS)
def test_generic_list_form_errors_are_indexed(mutate: Mutation, field: str) -> None:
    bad = mutated(mutate, example())
    with pytest.raises(ValidationError) as exc:
        parse_generic({"alerts": [example(), bad]}, now=NOW)
    assert exc.value.field == f"alerts[1].{field}"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        pytest.param([example()], "payload", id="bare-array"),
        pytest.param("alert", "payload", id="string"),
        pytest.param(None, "payload", id="null"),
        pytest.param({"alerts": None}, "alerts", id="alerts-null"),
        pytest.param({"alerts": example()}, "alerts", id="alerts-object"),
        pytest.param({"alerts": []}, "alerts", id="alerts-empty"),
        pytest.param({"alerts": [example()] * (MAX_ALERTS + 1)}, "alerts", id="too-many"),
        pytest.param({"alerts": [example(), "x"]}, "alerts[1]", id="alert-not-object"),
        pytest.param({"alerts": [example()], "title": "x"}, "title", id="list-form-extra-key"),
    ],
)
def test_generic_shape_errors(payload: object, field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_generic(payload, now=NOW)
    assert exc.value.field == field


def test_generic_accepts_max_alerts() -> None:
    alerts = parse_generic({"alerts": [{"title": "x"}] * MAX_ALERTS}, now=NOW)
    assert len(alerts) == MAX_ALERTS
