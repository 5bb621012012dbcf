"""Alert ingestion over real HTTP: what a sender posts, what an on-call engineer then sees.

Every test talks to the app on a real 127.0.0.1 port and runs on SQLite and PostgreSQL.
"What is stored" is always checked from outside the request that stored it: through the
API, through a brand-new Vigil on the same database, or by counting rows in a fresh session.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import col, select

from bot.config.load import Settings
from bot.core.secret import Secret
from bot.runtime.app import Vigil
from bot.store.tables import Alert
from tests.conftest import MakeVigil
from tests.support import FakeClock, am_alert, am_payload, fixture_json

Client = TestClient[Any, Any]
Json = dict[str, Any]

AM = "/alerts/alertmanager"
GENERIC = "/alerts/generic"
PAYMENTS_FP = "420abf6469f5137f"  # what Alertmanager sent for the captured firing alert
PAYMENTS_TITLE = "5xx ratio above 5% on payments"
DRIFT = {"alertname": "InputDrift", "model": "fraud-scorer"}
ACCURACY = {"alertname": "ModelAccuracyBelowSLA", "model": "fraud-scorer", "sla": "0.90"}
DRIFT_REASON = "P3: input drift PSI 0.31 > 0.2 on model fraud-scorer"
BOTH_REASON = (
    "P2: input drift PSI 0.31 > 0.2 on model fraud-scorer with accuracy 0.71 below SLA 0.90"
)


# --- helpers --------------------------------------------------------------------------------


@asynccontextmanager
async def serve(vigil: Vigil) -> AsyncIterator[Client]:
    """A real HTTP client for a Vigil built with non-default settings."""
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as c:
        yield c


def generic(labels: dict[str, str], value: float | None = None, **fields: Any) -> Json:
    """One alert in Vigil's generic format."""
    body: Json = {"title": fields.pop("title", f"{labels['alertname']} alert"), "labels": labels}
    if value is not None:
        body["value"] = value
    body.update(fields)
    return body


async def post_ok(client: Client, path: str, payload: object, **kwargs: Any) -> Json:
    resp = await client.post(path, json=payload, **kwargs)
    body: Json = await resp.json()
    assert resp.status == 200, body
    return body


async def incidents(client: Client, *, closed: bool = False) -> list[Json]:
    resp = await client.get("/api/v1/incidents", params={"all": "true" if closed else "false"})
    assert resp.status == 200
    listed: list[Json] = (await resp.json())["incidents"]
    return listed


async def incident(client: Client, incident_id: int) -> Json:
    resp = await client.get(f"/api/v1/incidents/{incident_id}")
    assert resp.status == 200
    body: Json = await resp.json()
    return body


async def stored_alerts(vigil: Vigil) -> list[Alert]:
    """Every row of the alerts table, read in a session of its own."""
    async with vigil.db.session() as s, s.begin():
        return list((await s.exec(select(Alert).order_by(col(Alert.id)))).all())


def timeline(view: Json, kind: str) -> list[str]:
    return [e["text"] for e in view["timeline"] if e["kind"] == kind]


def assert_error(body: Json, field: str) -> None:
    assert set(body) == {"error", "field", "message"}
    assert body["field"] == field
    assert body["message"]


# --- Alertmanager webhook v4, exactly as sent -----------------------------------------------


async def test_multi_alert_post_stores_every_alert_with_its_details(
    client: Client, vigil: Vigil
) -> None:
    body = await post_ok(client, AM, fixture_json("alertmanager-v4-multi.json"))

    assert body["accepted"] == 3
    assert [(r["fingerprint"], r["action"]) for r in body["results"]] == [
        ("1d31034106d44412", "opened"),
        ("5cba8f62b79c8e8e", "opened"),
        ("b5547e0d09a6c28e", "stored"),
    ]
    listed = await incidents(client)
    assert sorted(i["service"] for i in listed) == ["checkout", "payments"]
    assert sorted(i["id"] for i in listed) == body["incidents"]

    payments = next(i for i in listed if i["service"] == "payments")
    view = await incident(client, payments["id"])
    assert view["title"] == PAYMENTS_TITLE
    [alert] = view["alerts"]
    assert alert["fingerprint"] == "1d31034106d44412"
    assert alert["labels"] == {
        "alertname": "HighErrorRate",
        "env": "prod",
        "service": "payments",
        "severity": "critical",
    }
    assert alert["annotations"]["runbook_url"] == "https://runbooks.example/payments-5xx"
    assert alert["value"] == pytest.approx(0.0731)
    assert alert["starts_at"] == "2026-11-24T21:23:33.512000Z"
    assert alert["ends_at"] is None  # a firing alert's endsAt is not an end
    assert alert["generator_url"].startswith("http://prometheus.internal:9090/graph")
    assert alert["status"] == "firing"

    # The resolved alert had no open incident: kept anyway, detached, with its real end.
    detached = [a for a in await stored_alerts(vigil) if a.incident_id is None]
    assert [(a.fingerprint, a.status) for a in detached] == [("b5547e0d09a6c28e", "resolved")]
    assert detached[0].ends_at is not None
    assert detached[0].ends_at.isoformat() == "2026-11-24T21:24:48.361000+00:00"


async def test_nanosecond_timestamps_from_go_are_kept_to_the_microsecond(
    client: Client,
) -> None:
    body = await post_ok(client, AM, fixture_json("alertmanager-v4-multi.json"))
    checkout = next(r for r in body["results"] if r["fingerprint"] == "5cba8f62b79c8e8e")
    view = await incident(client, checkout["incident_id"])
    assert view["alerts"][0]["starts_at"] == "2026-11-24T21:25:03.117846Z"


async def test_accepted_alerts_are_committed_before_the_200(
    client: Client, make_vigil: MakeVigil
) -> None:
    body = await post_ok(client, AM, fixture_json("alertmanager-v4-firing.json"))

    other = await make_vigil()  # a second process on the same database
    [seen] = await other.incidents.list()
    assert seen.id == body["incidents"][0]
    assert [a.fingerprint for a in seen.alerts] == [PAYMENTS_FP]


async def test_fingerprint_is_computed_as_alertmanager_does_when_absent(client: Client) -> None:
    payload = fixture_json("alertmanager-v4-firing.json")
    del payload["alerts"][0]["fingerprint"]
    body = await post_ok(client, AM, payload)
    assert body["results"][0]["fingerprint"] == PAYMENTS_FP


async def test_same_labels_from_generic_sender_are_the_same_alert(client: Client) -> None:
    first = await post_ok(client, AM, fixture_json("alertmanager-v4-firing.json"))
    labels = fixture_json("alertmanager-v4-firing.json")["alerts"][0]["labels"]
    again = await post_ok(client, GENERIC, generic(labels, 0.09, title=PAYMENTS_TITLE))

    assert again["results"] == [
        {"fingerprint": PAYMENTS_FP, "incident_id": first["incidents"][0], "action": "repeated"}
    ]
    [only] = await incidents(client)
    assert only["alerts"][0]["count"] == 2


async def test_grafana_contact_point_body_is_accepted(client: Client) -> None:
    body = await post_ok(client, AM, fixture_json("grafana-webhook-firing.json"))
    assert body["results"][0]["fingerprint"] == "c6eadffa33fcdf37"
    view = await incident(client, body["incidents"][0])
    assert view["title"] == "GPU memory on the fraud-scorer pool is above 90%."
    assert view["model"] == "fraud-scorer"
    assert view["severity"] == "P3"  # labelled Warning, no value to test against a rule


# --- Vigil's generic format -----------------------------------------------------------------


async def test_generic_alert_opens_incident_with_every_field_kept(client: Client) -> None:
    payload = {
        "title": "Accuracy below SLA on fraud-scorer",
        "severity": "Critical",
        "labels": ACCURACY,
        "value": 0.71,
        "source": "nightly-eval",
        "annotations": {"runbook_url": "https://runbooks.example/fraud-scorer"},
        "starts_at": "2026-11-24T01:30:00+01:00",
    }
    body = await post_ok(client, GENERIC, payload)
    assert body["results"][0]["action"] == "opened"

    view = await incident(client, body["incidents"][0])
    assert view["title"] == "Accuracy below SLA on fraud-scorer"
    assert view["created_by"] == "nightly-eval"
    [alert] = view["alerts"]
    assert alert["source"] == "nightly-eval"
    assert alert["labels"] == ACCURACY
    assert alert["value"] == 0.71
    assert alert["severity_hint"] == "critical"
    assert alert["annotations"] == {"runbook_url": "https://runbooks.example/fraud-scorer"}
    assert alert["starts_at"] == "2026-11-24T00:30:00Z"


async def test_generic_list_form_stores_each_alert(client: Client) -> None:
    body = await post_ok(
        client,
        GENERIC,
        {
            "alerts": [
                generic({"alertname": "HighErrorRate", "service": "payments"}, 0.075),
                generic({"alertname": "HighErrorRate", "service": "search"}, 0.02),
            ]
        },
    )
    assert [r["action"] for r in body["results"]] == ["opened", "opened"]
    assert {i["service"]: i["severity"] for i in await incidents(client)} == {
        "payments": "P1",
        "search": "P3",
    }


# --- bad input: 4xx naming the field, nothing stored ----------------------------------------


def _am(mutate: Callable[[Json], object]) -> bytes:
    payload = fixture_json("alertmanager-v4-multi.json")
    mutate(payload)
    return json.dumps(payload).encode()


def _generic(payload: object) -> bytes:
    return json.dumps(payload).encode()


_VALID_GENERIC = generic({"alertname": "HighErrorRate", "service": "search"}, 0.075)


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        pytest.param(AM, b'{"version": "4", "alerts": [', "body", id="am-truncated-json"),
        pytest.param(AM, b"", "body", id="am-empty-body"),
        pytest.param(AM, b"\xff\xfe\x00garbage", "body", id="am-not-utf8"),
        pytest.param(AM, b"[]", "payload", id="am-array-not-object"),
        pytest.param(AM, _am(lambda p: p.pop("version")), "version", id="am-missing-version"),
        pytest.param(AM, _am(lambda p: p.update(version="3")), "version", id="am-old-version"),
        pytest.param(AM, _am(lambda p: p.pop("alerts")), "alerts", id="am-missing-alerts"),
        pytest.param(
            AM,
            _am(lambda p: p["alerts"][2]["labels"].pop("alertname")),
            "alerts[2].labels.alertname",
            id="am-third-alert-missing-alertname",
        ),
        pytest.param(
            AM,
            _am(lambda p: p["alerts"][1].update(status="pending")),
            "alerts[1].status",
            id="am-bad-status",
        ),
        pytest.param(
            AM,
            _am(lambda p: p["alerts"][2].update(startsAt=1732484613)),
            "alerts[2].startsAt",
            id="am-startsAt-wrong-type",
        ),
        pytest.param(
            AM,
            _am(lambda p: p["alerts"][1]["labels"].update(env=5)),
            "alerts[1].labels.env",
            id="am-label-not-string",
        ),
        pytest.param(
            AM,
            _am(lambda p: p["alerts"][0].update(fingerprint="xyz")),
            "alerts[0].fingerprint",
            id="am-bad-fingerprint",
        ),
        pytest.param(GENERIC, b"title=oops", "body", id="generic-form-encoded"),
        pytest.param(GENERIC, _generic({"labels": {}}), "title", id="generic-missing-title"),
        pytest.param(
            GENERIC, _generic({**_VALID_GENERIC, "value": "0.71"}), "value", id="generic-value-str"
        ),
        pytest.param(
            GENERIC, _generic({**_VALID_GENERIC, "value": True}), "value", id="generic-value-bool"
        ),
        pytest.param(
            GENERIC,
            _generic({**_VALID_GENERIC, "serverity": "critical"}),
            "serverity",
            id="generic-typo-field",
        ),
        pytest.param(
            GENERIC,
            _generic({**_VALID_GENERIC, "severity": "urgent"}),
            "severity",
            id="generic-unknown-severity",
        ),
        pytest.param(
            GENERIC,
            _generic({**_VALID_GENERIC, "labels": {"alertname": "X", "model": 3}}),
            "labels.model",
            id="generic-label-not-string",
        ),
        pytest.param(
            GENERIC,
            _generic({"alerts": [_VALID_GENERIC, {**_VALID_GENERIC, "value": "high"}]}),
            "alerts[1].value",
            id="generic-second-of-two-invalid",
        ),
        pytest.param(GENERIC, _generic({"alerts": []}), "alerts", id="generic-empty-list"),
    ],
)
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(
    client: Client, vigil: Vigil, path: str, raw: bytes, field: str
) -> None:
    seeded = await post_ok(client, AM, fixture_json("alertmanager-v4-firing.json"))
    before = await incident(client, seeded["incidents"][0])

    resp = await client.post(path, data=raw, headers={"Content-Type": "application/json"})

    assert resp.status == 400
    assert_error(await resp.json(), field)
    [after] = await incidents(client)
    assert after["id"] == before["id"]
    assert after["alerts"] == before["alerts"]
    assert [a.fingerprint for a in await stored_alerts(vigil)] == [PAYMENTS_FP]


async def test_deeply_nested_json_is_refused_as_bad_input(client: Client, vigil: Vigil) -> None:
    resp = await client.post(GENERIC, data=b"[" * 100_000 + b"]" * 100_000)
    assert resp.status == 400, await resp.text()
    assert_error(await resp.json(), "body")
    assert await stored_alerts(vigil) == []


async def test_oversize_body_gets_413_naming_body_and_stores_nothing(
    make_vigil: MakeVigil,
) -> None:
    vigil = await make_vigil(max_body_bytes=2048)
    big = generic(
        {"alertname": "HighErrorRate", "service": "payments"},
        0.075,
        annotations={"description": "x" * 3000},
    )
    assert len(json.dumps(big)) > 3000
    async with serve(vigil) as client:
        resp = await client.post(GENERIC, json=big)
        assert resp.status == 413
        assert_error(await resp.json(), "body")
        assert "2048" in (await resp.json())["message"]
        assert await incidents(client) == []

        small = generic({"alertname": "HighErrorRate", "service": "payments"}, 0.075)
        await post_ok(client, GENERIC, small)  # the same sender, fewer bytes: accepted
    assert len(await stored_alerts(vigil)) == 1


@pytest.mark.parametrize(
    "labels",
    [
        pytest.param(
            {
                "alertname": "HighErrorRate",
                "service": "payments",
                "severity": "page-the-whole-team",
            },
            id="severity-label-over-16-chars",
        ),
        pytest.param({"alertname": "HighErrorRate", "service": "p" * 250}, id="service-250-chars"),
        pytest.param({"alertname": "A" * 400, "service": "p" * 300}, id="group-key-over-600"),
    ],
)
async def test_alert_the_parser_accepts_is_stored_whatever_the_database(
    client: Client, labels: dict[str, str]
) -> None:
    """Labels within the parser's limits (values up to 1024 characters) must fit the schema:
    a 503 here is retried by Alertmanager forever and the alert never lands."""
    resp = await client.post(AM, json=am_payload(am_alert(labels)))
    assert resp.status == 200, await resp.text()
    [opened] = await incidents(client)
    assert opened["alerts"][0]["labels"] == labels


# --- the ingest token -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-header"),
        pytest.param("Bearer wrong", id="wrong-token"),
        pytest.param("Bearer s3cret-but-longer", id="token-prefix"),
        pytest.param("Bearer ", id="empty-token"),
        pytest.param("s3cret", id="no-scheme"),
        pytest.param("Basic s3cret", id="wrong-scheme"),
    ],
)
@pytest.mark.parametrize("path", [AM, GENERIC])
async def test_ingest_token_refuses_missing_or_wrong_and_stores_nothing(
    make_vigil: MakeVigil, path: str, authorization: str | None
) -> None:
    vigil = await make_vigil(ingest_token=Secret("s3cret"))
    payload = (
        fixture_json("alertmanager-v4-firing.json")
        if path == AM
        else generic({"alertname": "HighErrorRate", "service": "payments"}, 0.075)
    )
    headers = {"Authorization": authorization} if authorization is not None else {}
    async with serve(vigil) as client:
        resp = await client.post(path, json=payload, headers=headers)
        text = await resp.text()
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert_error(json.loads(text), "Authorization")
        assert "s3cret" not in text
        assert await incidents(client) == []
    assert await stored_alerts(vigil) == []


@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
async def test_ingest_token_accepts_the_right_bearer_and_never_echoes_it(
    make_vigil: MakeVigil, scheme: str
) -> None:
    vigil = await make_vigil(ingest_token=Secret("s3cret"))
    async with serve(vigil) as client:
        resp = await client.post(
            AM,
            json=fixture_json("alertmanager-v4-firing.json"),
            headers={"Authorization": f"{scheme} s3cret"},
        )
        text = await resp.text()
        assert resp.status == 200
        assert "s3cret" not in text
        [opened] = await incidents(client)
        assert opened["alerts"][0]["fingerprint"] == PAYMENTS_FP
        metrics = await (await client.get("/metrics")).text()
        assert "s3cret" not in metrics


# --- grouping and deduplication -------------------------------------------------------------


async def test_repeat_of_firing_alert_updates_last_seen_and_count_only(
    client: Client, clock: FakeClock
) -> None:
    payload = fixture_json("alertmanager-v4-firing.json")
    first = await post_ok(client, AM, payload)
    opened_at = clock.now
    later = clock.advance(minutes=5)
    second = await post_ok(client, AM, payload)
    clock.advance(minutes=5)
    third = await post_ok(client, AM, payload)

    assert [r["action"] for r in (second["results"][0], third["results"][0])] == [
        "repeated",
        "repeated",
    ]
    assert first["incidents"] == second["incidents"] == third["incidents"]
    [only] = await incidents(client, closed=True)
    [alert] = only["alerts"]
    assert alert["count"] == 3
    assert alert["first_seen"] == opened_at.isoformat().replace("+00:00", "Z")
    assert alert["last_seen"] == clock.now.isoformat().replace("+00:00", "Z")
    assert alert["last_seen"] != later.isoformat().replace("+00:00", "Z")
    view = await incident(client, only["id"])
    assert len(timeline(view, "alert")) == 1  # repeats do not flood the timeline


async def test_different_alerts_with_the_same_key_join_one_incident(client: Client) -> None:
    labels = {"alertname": "HighErrorRate", "service": "payments"}
    a = am_alert({**labels, "instance": "pod-a"})
    b = am_alert({**labels, "instance": "pod-b"})
    first = await post_ok(client, AM, am_payload(a))
    second = await post_ok(client, AM, am_payload(b))

    assert first["results"][0]["action"] == "opened"
    assert second["results"][0]["action"] == "joined"
    [only] = await incidents(client)
    assert {x["labels"]["instance"] for x in only["alerts"]} == {"pod-a", "pod-b"}


async def test_model_label_groups_when_there_is_no_service(client: Client) -> None:
    first = await post_ok(client, GENERIC, generic({**ACCURACY, "instance": "a"}, 0.71))
    second = await post_ok(client, GENERIC, generic({**ACCURACY, "instance": "b"}, 0.70))
    other = await post_ok(client, GENERIC, generic({**ACCURACY, "model": "churn-predictor"}, 0.70))
    assert second["incidents"] == first["incidents"]
    assert other["incidents"] != first["incidents"]
    assert sorted(i["model"] for i in await incidents(client)) == [
        "churn-predictor",
        "fraud-scorer",
    ]


async def test_two_services_open_two_incidents(client: Client) -> None:
    body = await post_ok(
        client,
        AM,
        am_payload(
            am_alert({"alertname": "HighErrorRate", "service": "payments"}),
            am_alert({"alertname": "HighErrorRate", "service": "checkout"}),
        ),
    )
    assert [r["action"] for r in body["results"]] == ["opened", "opened"]
    assert len(body["incidents"]) == 2
    assert sorted(i["service"] for i in await incidents(client)) == ["checkout", "payments"]


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        pytest.param(None, 2, id="default-alertname-and-model"),
        pytest.param(("service|model",), 1, id="by-model-only"),
    ],
)
async def test_group_by_is_configurable(
    make_vigil: MakeVigil, settings: Settings, group_by: tuple[str, ...] | None, expected: int
) -> None:
    overrides: dict[str, Any] = {}
    if group_by is not None:
        overrides["incidents"] = dataclasses.replace(settings.incidents, group_by=group_by)
    vigil = await make_vigil(**overrides)
    async with serve(vigil) as client:
        await post_ok(client, GENERIC, generic(DRIFT, 0.31))
        await post_ok(client, GENERIC, generic(ACCURACY, 0.71))
        assert len(await incidents(client)) == expected


async def test_resolved_alert_is_recorded_on_the_timeline(client: Client, clock: FakeClock) -> None:
    opened = await post_ok(client, AM, fixture_json("alertmanager-v4-firing.json"))
    incident_id = opened["incidents"][0]
    clock.advance(minutes=15)
    body = await post_ok(client, AM, fixture_json("alertmanager-v4-resolved.json"))

    assert body["results"] == [
        {"fingerprint": PAYMENTS_FP, "incident_id": incident_id, "action": "resolved"}
    ]
    view = await incident(client, incident_id)
    assert view["state"] == "triggered"  # resolved by itself only after 5 quiet minutes
    assert view["cleared_at"] is not None
    [alert] = view["alerts"]
    assert alert["status"] == "resolved"
    assert alert["ends_at"] == "2026-11-24T21:38:48.598140Z"
    assert timeline(view, "alert_resolved") == [
        f"Alert cleared: {PAYMENTS_TITLE}. Every alert of #{incident_id} has cleared; "
        "it resolves by itself at 02:20 UTC (5 min quiet) unless an alert fires again"
    ]


async def test_alert_firing_again_after_resolving_is_noted(client: Client) -> None:
    opened = await post_ok(client, AM, fixture_json("alertmanager-v4-firing.json"))
    await post_ok(client, AM, fixture_json("alertmanager-v4-resolved.json"))
    again = await post_ok(client, AM, fixture_json("alertmanager-v4-firing.json"))

    assert again["results"][0]["action"] == "refired"
    assert again["incidents"] == opened["incidents"]
    view = await incident(client, opened["incidents"][0])
    assert view["alerts"][0]["status"] == "firing"
    assert view["alerts"][0]["ends_at"] is None
    assert timeline(view, "alert") == [
        f"Firing: {PAYMENTS_TITLE}",
        f"Firing again: {PAYMENTS_TITLE}",
    ]


@pytest.mark.parametrize("path", [AM, GENERIC])
async def test_resolved_alert_with_no_open_incident_is_still_stored(
    client: Client, vigil: Vigil, path: str
) -> None:
    payload = (
        fixture_json("alertmanager-v4-resolved.json")
        if path == AM
        else generic({"alertname": "HighErrorRate", "service": "payments"}, status="resolved")
    )
    body = await post_ok(client, path, payload)

    assert body["results"][0]["action"] == "stored"
    assert body["results"][0]["incident_id"] is None
    assert body["incidents"] == []
    assert await incidents(client, closed=True) == []
    [row] = await stored_alerts(vigil)
    assert (row.status, row.incident_id) == ("resolved", None)


async def test_new_firing_after_human_resolve_opens_a_new_incident(
    client: Client, vigil: Vigil, clock: FakeClock
) -> None:
    first = await post_ok(client, AM, fixture_json("alertmanager-v4-firing.json"))
    old_id = first["incidents"][0]
    clock.advance(minutes=30)
    await vigil.incidents.resolve(old_id, actor="@alice")
    clock.advance(hours=2)
    second = await post_ok(client, AM, fixture_json("alertmanager-v4-firing.json"))

    assert second["results"][0]["action"] == "opened"
    [new_id] = second["incidents"]
    assert new_id != old_id
    assert [i["id"] for i in await incidents(client)] == [new_id]
    assert (await incident(client, old_id))["state"] == "resolved"
    assert (await incident(client, old_id))["alerts"][0]["count"] == 1


# --- concurrency ----------------------------------------------------------------------------


async def test_ten_simultaneous_posts_of_one_new_alert_open_one_incident(
    client: Client,
) -> None:
    payload = fixture_json("alertmanager-v4-firing.json")
    responses = await asyncio.gather(*(client.post(AM, json=payload) for _ in range(10)))
    bodies = [await r.json() for r in responses]

    assert [r.status for r in responses] == [200] * 10, bodies
    actions = sorted(b["results"][0]["action"] for b in bodies)
    assert actions == ["opened"] + ["repeated"] * 9
    assert len({b["incidents"][0] for b in bodies}) == 1
    [only] = await incidents(client, closed=True)
    [alert] = only["alerts"]
    assert alert["count"] == 10


async def test_ten_simultaneous_different_alerts_of_one_key_share_an_incident(
    client: Client, vigil: Vigil
) -> None:
    labels = {"alertname": "HighErrorRate", "service": "payments"}
    posts = [
        client.post(AM, json=am_payload(am_alert({**labels, "instance": f"pod-{n}"})))
        for n in range(10)
    ]
    responses = await asyncio.gather(*posts)

    assert [r.status for r in responses] == [200] * 10
    [only] = await incidents(client, closed=True)
    assert len(only["alerts"]) == 10
    assert len(await stored_alerts(vigil)) == 10


# --- classification, as the on-call engineer sees it ----------------------------------------


@pytest.fixture
async def by_model(make_vigil: MakeVigil, settings: Settings) -> AsyncIterator[Client]:
    """A Vigil grouping by model alone, so drift and accuracy alerts share one incident."""
    by = dataclasses.replace(settings.incidents, group_by=("service|model",))
    vigil = await make_vigil(incidents=by)
    async with serve(vigil) as client:
        yield client


async def test_drift_with_accuracy_below_sla_in_one_post_is_p2_with_reason(
    by_model: Client,
) -> None:
    body = await post_ok(
        by_model, GENERIC, {"alerts": [generic(DRIFT, 0.31), generic(ACCURACY, 0.71)]}
    )
    [incident_id] = body["incidents"]
    view = await incident(by_model, incident_id)
    assert view["severity"] == "P2"
    assert view["severity_reason"] == BOTH_REASON
    assert BOTH_REASON in timeline(view, "severity")


async def test_drift_alone_is_p3_then_accuracy_raises_it_to_p2(
    by_model: Client, clock: FakeClock
) -> None:
    body = await post_ok(by_model, GENERIC, generic(DRIFT, 0.31))
    incident_id = body["incidents"][0]
    view = await incident(by_model, incident_id)
    assert (view["severity"], view["severity_reason"]) == ("P3", DRIFT_REASON)

    clock.advance(minutes=10)
    raised = await post_ok(by_model, GENERIC, generic(ACCURACY, 0.71))
    assert raised["incidents"] == [incident_id]
    assert raised["results"][0]["action"] == "joined"
    view = await incident(by_model, incident_id)
    assert (view["severity"], view["severity_reason"]) == ("P2", BOTH_REASON)
    assert timeline(view, "severity") == [DRIFT_REASON, f"Severity raised P3 → {BOTH_REASON}"]


@pytest.mark.parametrize("value", [0.075, 7.5], ids=["fraction", "percent"])
async def test_error_rate_above_five_percent_is_p1(client: Client, value: float) -> None:
    body = await post_ok(
        client, GENERIC, generic({"alertname": "HighErrorRate", "service": "payments"}, value)
    )
    view = await incident(client, body["incidents"][0])
    assert view["severity"] == "P1"
    assert view["severity_reason"] == "P1: error rate 7.5% > 5% on service payments"


async def test_severity_never_drops_when_the_worse_alert_clears(
    by_model: Client,
) -> None:
    body = await post_ok(
        by_model, GENERIC, {"alerts": [generic(DRIFT, 0.31), generic(ACCURACY, 0.71)]}
    )
    await post_ok(by_model, GENERIC, generic(ACCURACY, 0.71, status="resolved"))
    await post_ok(by_model, GENERIC, generic(DRIFT, 0.33))  # a repeat re-classifies
    view = await incident(by_model, body["incidents"][0])
    assert view["severity"] == "P2"


async def test_human_severity_wins_and_disagreement_is_noted_once(
    by_model: Client, make_vigil: MakeVigil, clock: FakeClock
) -> None:
    body = await post_ok(by_model, GENERIC, generic(DRIFT, 0.31))
    incident_id = body["incidents"][0]
    people = await make_vigil()
    await people.incidents.set_severity(incident_id, "P4", actor="@alice")
    human = await incident(by_model, incident_id)

    for value in (0.71, 0.70, 0.69):
        clock.advance(minutes=5)
        await post_ok(by_model, GENERIC, generic(ACCURACY, value))
    clock.advance(minutes=5)
    await post_ok(by_model, GENERIC, generic(DRIFT, 0.35))

    view = await incident(by_model, incident_id)
    assert view["severity"] == "P4"
    assert view["severity_source"] == "human"
    assert view["severity_reason"] == human["severity_reason"]
    [disagreement] = timeline(view, "policy")
    assert "P2" in disagreement
    assert "keeping P4 set by a person" in disagreement
    assert timeline(view, "severity")[-1] == "Severity P3 → P4 set by @alice"


async def test_truncated_alerts_and_group_fields_are_not_errors(client: Client) -> None:
    """Alertmanager dropped those alerts itself; the ones it did send must still be kept."""
    payload = copy.deepcopy(fixture_json("alertmanager-v4-firing.json"))
    payload["truncatedAlerts"] = 3
    payload["groupLabels"] = {}
    payload["commonAnnotations"] = {"anything": "goes"}
    body = await post_ok(client, AM, payload)
    assert body["results"][0]["fingerprint"] == PAYMENTS_FP


async def test_a_group_of_alerts_in_one_post_is_one_timeline_line(client: Client) -> None:
    """Alertmanager sends a group at once; the incident's thread gets one line saying how
    many, what, and which instances, while every alert is still stored on its own."""
    alerts = [
        generic({"alertname": "HighErrorRate", "service": "payments", "instance": f"web-{n}"})
        for n in range(1, 11)
    ]
    body = await post_ok(client, GENERIC, {"alerts": alerts})
    [incident_id] = body["incidents"]
    view = await incident(client, incident_id)

    assert len(view["alerts"]) == 10
    assert timeline(view, "alert") == [
        "Firing: 10 alerts: HighErrorRate alert (instance: web-1, web-2, web-3 and 7 more)"
    ]
    [line] = [e for e in view["timeline"] if e["kind"] == "alert"]
    assert line["data"]["count"] == 10
    assert sorted(line["data"]["fingerprints"]) == sorted(a["fingerprint"] for a in view["alerts"])

    resolved = [{**a, "status": "resolved"} for a in alerts[:4]]
    await post_ok(client, GENERIC, {"alerts": resolved})
    view = await incident(client, incident_id)
    assert timeline(view, "alert_resolved") == [
        "Alerts cleared: 4 alerts: HighErrorRate alert (instance: web-1, web-2, web-3 and 1 more)"
    ]
