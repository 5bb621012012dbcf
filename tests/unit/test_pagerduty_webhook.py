"""PagerDuty v3 webhooks: the signature check and the mapping back to our incident."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core.errors import ValidationError
from bot.core.secret import Secret
from bot.notify.base import incident_key, parse_incident_key
from bot.notify.pagerduty.webhook import PagerDutyAck, parse_webhook, sign, verify_signature

SECRET = Secret("whsec-test-0123456789abcdef")
OLD = Secret("whsec-old-fedcba9876543210")

# The shape of PagerDuty's documented v3 example (incident.acknowledged), trimmed of fields
# we do not read only where they are long.
ACKNOWLEDGED: dict[str, Any] = {
    "event": {
        "id": "01DEN1HNLBC1VITK192ETIEX7Z",
        "event_type": "incident.acknowledged",
        "resource_type": "incident",
        "occurred_at": "2026-11-24T02:03:04.123Z",
        "agent": {
            "html_url": "https://acme.pagerduty.com/users/PLH1HKV",
            "id": "PLH1HKV",
            "self": "https://api.pagerduty.com/users/PLH1HKV",
            "summary": "Maya Lin",
            "type": "user_reference",
        },
        "client": None,
        "data": {
            "id": "Q2KURS8RXYZ123",
            "type": "incident",
            "self": "https://api.pagerduty.com/incidents/Q2KURS8RXYZ123",
            "html_url": "https://acme.pagerduty.com/incidents/Q2KURS8RXYZ123",
            "number": 42,
            "status": "acknowledged",
            "incident_key": "vigil:12",
            "created_at": "2026-11-24T02:00:00Z",
            "title": "P1 #12 fraud-scorer accuracy below SLA",
            "service": {"id": "PSVC01", "type": "service_reference", "summary": "ML serving"},
            "urgency": "high",
        },
    }
}


def _body(**event_changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(ACKNOWLEDGED)
    body["event"].update(event_changes)
    return body


def _raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


# -- signature ---------------------------------------------------------------------------------


def test_signature_of_the_raw_body_verifies() -> None:
    raw = _raw(ACKNOWLEDGED)
    assert verify_signature(raw, sign(SECRET, raw), SECRET)


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        pytest.param(None, False, id="missing"),
        pytest.param("", False, id="empty"),
        pytest.param("v1=" + "0" * 64, False, id="wrong"),
        pytest.param("sha256=whatever", False, id="other-scheme"),
        pytest.param("GOOD", True, id="single"),
        pytest.param("v1=" + "0" * 64 + ",GOOD", True, id="rotation-second"),
        pytest.param("GOOD, v1=" + "f" * 64, True, id="rotation-first-with-space"),
        pytest.param("GOOD_UPPER", True, id="uppercase-hex"),
    ],
)
def test_any_of_several_signatures_may_match(header: str | None, ok: bool) -> None:
    raw = _raw(ACKNOWLEDGED)
    good = sign(SECRET, raw)
    if header is not None:
        header = header.replace("GOOD_UPPER", "v1=" + good[3:].upper()).replace("GOOD", good)
    assert verify_signature(raw, header, SECRET) is ok


def test_a_changed_body_or_another_secret_fails() -> None:
    raw = _raw(ACKNOWLEDGED)
    header = sign(SECRET, raw)
    assert not verify_signature(raw.replace(b"Maya", b"Mallory"), header, SECRET)
    assert not verify_signature(raw, header, OLD)


def test_our_own_rotation_accepts_either_secret() -> None:
    raw = _raw(ACKNOWLEDGED)
    assert verify_signature(raw, sign(OLD, raw), [SECRET, OLD])
    assert verify_signature(raw, sign(SECRET, raw), [SECRET, OLD])
    assert not verify_signature(raw, sign(OLD, raw), [SECRET])


# -- parsing -----------------------------------------------------------------------------------


def test_acknowledgement_maps_back_to_our_incident() -> None:
    ack = parse_webhook(_raw(ACKNOWLEDGED))
    assert ack == PagerDutyAck(
        action="acknowledged",
        pd_incident_id="Q2KURS8RXYZ123",
        incident_key="vigil:12",
        by="Maya Lin",
        by_person=True,
        at=datetime(2026, 11, 24, 2, 3, 4, 123000, tzinfo=UTC),
        event_id="01DEN1HNLBC1VITK192ETIEX7Z",
        pd_url="https://acme.pagerduty.com/incidents/Q2KURS8RXYZ123",
    )
    assert ack.incident_id() == 12
    assert ack.incident_id("vigil-staging") is None


def test_resolution_by_pagerduty_itself_has_no_person() -> None:
    ack = parse_webhook(_body(event_type="incident.resolved", agent=None))
    assert ack is not None
    assert (ack.action, ack.by, ack.by_person) == ("resolved", "PagerDuty", False)


def test_our_own_events_api_acknowledgement_is_not_a_person() -> None:
    agent = {"id": "PSVC01", "type": "service_reference", "summary": "ML serving"}
    ack = parse_webhook(_body(agent=agent))
    assert ack is not None
    assert ack.by_person is False
    assert ack.by == "ML serving"


@pytest.mark.parametrize("key", [None, "", "grafana-abc123", "vigil:twelve", "vigil:12:3"])
def test_incidents_not_made_by_our_triggers_keep_only_the_pd_id(key: str | None) -> None:
    body = _body()
    body["event"]["data"]["incident_key"] = key
    ack = parse_webhook(body)
    assert ack is not None
    assert ack.pd_incident_id == "Q2KURS8RXYZ123"
    assert ack.incident_id() is None


def test_incident_key_absent_entirely() -> None:
    body = _body()
    del body["event"]["data"]["incident_key"]
    ack = parse_webhook(json.dumps(body))
    assert ack is not None
    assert ack.incident_key is None


@pytest.mark.parametrize(
    "event_type",
    [
        "incident.triggered",
        "incident.unacknowledged",
        "incident.escalated",
        "incident.annotated",
        "incident.reassigned",
        "pagey.ping",
    ],
)
def test_event_types_we_do_not_mirror_are_ignored(event_type: str) -> None:
    assert parse_webhook(_body(event_type=event_type)) is None


def test_ignored_types_need_no_incident_data() -> None:
    assert parse_webhook({"event": {"event_type": "pagey.ping", "id": "x"}}) is None


def test_naive_time_is_taken_as_utc() -> None:
    ack = parse_webhook(_body(occurred_at="2026-11-24T02:03:04"))
    assert ack is not None
    assert ack.at == datetime(2026, 11, 24, 2, 3, 4, tzinfo=UTC)


def _without(path: str) -> dict[str, Any]:
    body = _body()
    *parents, last = path.split(".")
    node = body
    for name in parents:
        node = node[name]
    del node[last]
    return body


def _with(path: str, value: Any) -> dict[str, Any]:
    body = _body()
    *parents, last = path.split(".")
    node = body
    for name in parents:
        node = node[name]
    node[last] = value
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(b"{not json", "body", id="not-json"),
        pytest.param(b"\xff\xfe", "body", id="not-utf8"),
        pytest.param(b"[1, 2]", "body", id="array"),
        pytest.param({"messages": []}, "event", id="v2-webhook"),
        pytest.param({"event": "incident.acknowledged"}, "event", id="event-not-object"),
        pytest.param(_without("event.event_type"), "event.event_type", id="no-type"),
        pytest.param(_without("event.id"), "event.id", id="no-id"),
        pytest.param(_without("event.occurred_at"), "event.occurred_at", id="no-time"),
        pytest.param(_with("event.occurred_at", "yesterday"), "event.occurred_at", id="bad-time"),
        pytest.param(_without("event.data"), "event.data", id="no-data"),
        pytest.param(_without("event.data.id"), "event.data.id", id="no-incident-id"),
        pytest.param(_with("event.data.type", "service"), "event.data.type", id="not-incident"),
        pytest.param(_with("event.data.incident_key", 12), "event.data.incident_key", id="key"),
        pytest.param(_with("event.agent", "Maya"), "event.agent", id="agent-not-object"),
    ],
)
def test_malformed_bodies_name_the_field(body: bytes | dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_webhook(body)
    assert caught.value.field == field


def test_v2_webhook_gets_a_hint() -> None:
    with pytest.raises(ValidationError, match="v2 webhook"):
        parse_webhook({"messages": [{"event": "incident.acknowledge"}]})


# -- incident keys -----------------------------------------------------------------------------


def test_incident_key_round_trip() -> None:
    assert incident_key(12) == "vigil:12"
    assert parse_incident_key("vigil:12") == 12
    assert parse_incident_key(incident_key(7, "vigil-prod"), "vigil-prod") == 7
    assert parse_incident_key("vigil-prod:7") is None


@pytest.mark.parametrize("prefix", ["", "has space", "a:b", "x" * 65])
def test_incident_key_prefix_is_checked(prefix: str) -> None:
    with pytest.raises(ValidationError):
        incident_key(1, prefix)
