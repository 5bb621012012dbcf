"""Alertmanager's API v2 for silences and alerts, over real HTTP, on SQLite and PostgreSQL.

What a script, a dashboard or anything written for Alertmanager relies on: a silence posted
in Alertmanager's exact JSON comes back in Alertmanager's shape, ``filter=`` means what it
means in Alertmanager, a refusal is a 400 whose body (Alertmanager's: one JSON string) names
the field and says why, with nothing stored, and ``/api/v2/alerts`` shows what is muted and
by what. ``amtool`` itself is ``test_amtool.py``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.core.secret import Secret
from bot.core.timefmt import iso_z
from tests.conftest import MakeVigil
from tests.support import FakeClock

Client = TestClient[Any, Any]
Json = dict[str, Any]

SILENCES = "/api/v2/silences"
ALERTS = "/api/v2/alerts"


def silence_body(clock: FakeClock, *matchers: Json, hours: float = 2, **over: Any) -> Json:
    """A ``PostableSilence`` exactly as Alertmanager's clients send it."""
    return {
        "matchers": list(matchers) or [payments()],
        "startsAt": iso_z(clock()),
        "endsAt": iso_z(clock() + timedelta(hours=hours)),
        "createdBy": "alice",
        "comment": "db migration",
        **over,
    }


def payments() -> Json:
    return {"name": "service", "value": "payments", "isRegex": False, "isEqual": True}


def matcher(name: str, value: str, *, regex: bool = False, equal: bool = True) -> Json:
    return {"name": name, "value": value, "isRegex": regex, "isEqual": equal}


async def create(client: Client, body: Json) -> str:
    resp = await client.post(SILENCES, json=body)
    got = await resp.json()
    assert resp.status == 200, got
    assert list(got) == ["silenceID"]
    sid: str = got["silenceID"]
    return sid


async def listed(client: Client, *filters: str) -> list[Json]:
    resp = await client.get(SILENCES, params=[("filter", f) for f in filters])
    body: list[Json] = await resp.json()
    assert resp.status == 200, body
    return body


async def alerts(client: Client, **query: str) -> list[Json]:
    params = [(k, v) for k, v in query.items() if k != "filter"]
    if "filter" in query:
        params.append(("filter", query["filter"]))
    resp = await client.get(ALERTS, params=params)
    body: list[Json] = await resp.json()
    assert resp.status == 200, body
    return body


async def post_alert(client: Client, alertname: str, severity: str = "critical") -> Json:
    """One firing alert through Alertmanager's webhook, as Alertmanager posts it."""
    labels = {"alertname": alertname, "service": "payments", "severity": severity}
    body = {
        "version": "4",
        "groupKey": '{}:{service="payments"}',
        "status": "firing",
        "receiver": "vigil",
        "groupLabels": {"service": "payments"},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": f"{alertname} on payments"},
                "startsAt": "2026-11-24T01:55:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
            }
        ],
    }
    resp = await client.post("/alerts/alertmanager", json=body)
    got: Json = await resp.json()
    assert resp.status == 200, got
    result: Json = got["results"][0]
    return result


# --- create, read, list, expire, update -----------------------------------------------------


async def test_a_posted_silence_reads_back_in_alertmanagers_shape(
    client: Client, clock: FakeClock
) -> None:
    regex = matcher("alertname", "Latency.*", regex=True)
    sid = await create(client, silence_body(clock, payments(), regex))
    resp = await client.get(f"/api/v2/silence/{sid}")
    got = await resp.json()
    assert resp.status == 200, got
    assert {k: v for k, v in got.items() if k != "vigil"} == {
        "id": sid,
        "status": {"state": "active"},
        "updatedAt": "2026-11-24T02:00:00Z",
        "matchers": [payments(), regex],
        "startsAt": "2026-11-24T02:00:00Z",
        "endsAt": "2026-11-24T04:00:00Z",
        "createdBy": "alice",
        "comment": "db migration",
    }
    assert [s["id"] for s in await listed(client)] == [sid]


async def test_a_start_in_the_future_is_pending_and_a_start_in_the_past_is_now(
    client: Client, clock: FakeClock
) -> None:
    later = silence_body(clock, startsAt=iso_z(clock() + timedelta(hours=1)))
    pending = await create(client, later)
    past = silence_body(clock, startsAt=iso_z(clock() - timedelta(hours=1)))
    now = await create(client, past)
    by_id = {s["id"]: s for s in await listed(client)}
    assert by_id[pending]["status"]["state"] == "pending"
    assert by_id[now]["status"]["state"] == "active"
    assert by_id[now]["startsAt"] == "2026-11-24T02:00:00Z"
    assert [s["id"] for s in await listed(client)] == [now, pending]  # active first


async def test_delete_expires_it_now_and_keeps_it_readable(
    client: Client, clock: FakeClock
) -> None:
    sid = await create(client, silence_body(clock))
    clock.advance(minutes=10)
    resp = await client.delete(f"/api/v2/silence/{sid}")
    assert resp.status == 200, await resp.text()
    got = await (await client.get(f"/api/v2/silence/{sid}")).json()
    assert got["status"] == {"state": "expired"}
    assert got["endsAt"] == "2026-11-24T02:10:00Z"
    assert got["vigil"]["expiredBy"] == "api"
    again = await client.delete(f"/api/v2/silence/{sid}")  # already over: nothing changes
    assert again.status == 200
    assert (await (await client.get(f"/api/v2/silence/{sid}")).json())["endsAt"] == got["endsAt"]


async def test_posting_with_an_id_updates_that_silence(client: Client, clock: FakeClock) -> None:
    sid = await create(client, silence_body(clock))
    clock.advance(minutes=5)
    longer = silence_body(clock, hours=5, id=sid, comment="migration runs late")
    assert await create(client, longer) == sid
    [got] = await listed(client)
    assert got["id"] == sid
    assert got["startsAt"] == "2026-11-24T02:00:00Z"  # it was on: its start stays
    assert got["endsAt"] == "2026-11-24T07:05:00Z"
    assert got["comment"] == "migration runs late"
    assert got["updatedAt"] == "2026-11-24T02:05:00Z"


@pytest.mark.parametrize("how", ["GET", "DELETE", "POST"])
async def test_an_unknown_id_is_404(client: Client, clock: FakeClock, how: str) -> None:
    unknown = "0b6c3a43-1f43-4d39-9a47-3c0cbb3b9c11"
    if how == "POST":
        resp = await client.post(SILENCES, json=silence_body(clock, id=unknown))
    else:
        resp = await client.request(how, f"/api/v2/silence/{unknown}")
    body = await resp.json()
    assert resp.status == 404, body
    assert isinstance(body, str)
    assert body.startswith("id: no silence 0b6c3a43"), body
    assert await listed(client) == []


# --- filter= as Alertmanager reads it -------------------------------------------------------


@pytest.fixture
async def three(client: Client, clock: FakeClock) -> dict[str, str]:
    latency = matcher("alertname", "Latency.*", regex=True)
    return {
        "latency": await create(client, silence_body(clock, payments(), latency)),
        "search": await create(client, silence_body(clock, matcher("service", "search"))),
        "not-prod": await create(
            client, silence_body(clock, payments(), matcher("env", "prod", equal=False))
        ),
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ((), {"latency", "search", "not-prod"}),
        (('service="payments"',), {"latency", "not-prod"}),
        (("service=payments", 'alertname="Latency.*"'), {"latency"}),  # the pattern's text
        (('alertname=~"Lat.*"',), {"latency"}),  # a regex filter reads the pattern's text
        (('env!="prod"',), {"latency", "search"}),
        (('env!=""',), {"not-prod"}),  # has an env matcher
        (('env=""',), {"latency", "search"}),  # has none
        (('service=~"pay.*|search"',), {"latency", "search", "not-prod"}),
    ],
)
async def test_filter_finds_silences_as_alertmanager_does(
    client: Client, three: dict[str, str], filters: tuple[str, ...], expected: set[str]
) -> None:
    names = {sid: name for name, sid in three.items()}
    assert {names[s["id"]] for s in await listed(client, *filters)} == expected


async def test_a_filter_on_an_empty_pattern_asks_whether_the_label_is_there(
    client: Client, clock: FakeClock
) -> None:
    """Alertmanager's special case: ``team!=""`` keeps a silence with a ``team`` matcher,
    even one whose pattern is empty (``team=""``: the alerts without a team)."""
    sid = await create(client, silence_body(clock, payments(), matcher("team", "")))
    await create(client, silence_body(clock, matcher("service", "search")))
    assert [s["id"] for s in await listed(client, 'team!=""')] == [sid]


async def test_a_bad_filter_is_400_naming_it(client: Client) -> None:
    resp = await client.get(SILENCES, params={"filter": 'service=~"("'})
    body = await resp.json()
    assert resp.status == 400
    assert body.startswith("filter[0]: "), body


# --- refusals: 400 naming the field, nothing stored -----------------------------------------


def _everything(body: Json) -> None:
    body["matchers"] = [matcher("service", ".*", regex=True)]


def _negative_only(body: Json) -> None:
    body["matchers"] = [
        matcher("service", "payments", equal=False),
        matcher("env", "prod", regex=True, equal=False),
    ]


BAD: list[tuple[str, Any, str, str]] = [
    ("no matchers", lambda b: b.update(matchers=[]), "matchers", "at least one matcher"),
    ("no matchers field", lambda b: b.pop("matchers"), "matchers", "at least one matcher"),
    ("matches every alert", _everything, "matchers", "would hush every alert"),
    ("only negative matchers", _negative_only, "matchers", "would hush every alert"),
    (
        "ends before it starts",
        lambda b: b.update(endsAt="2026-11-24T01:30:00Z", startsAt="2026-11-24T03:00:00Z"),
        "endsAt",
        "end before it starts",
    ),
    (
        "25 h without a comment",
        lambda b: b.update(endsAt="2026-11-25T03:00:00Z", comment=""),
        "comment",
        "needs a comment saying why",
    ),
    (
        "bad regex",
        lambda b: b.update(matchers=[matcher("service", "pay(", regex=True)]),
        "matchers[0]",
        "the regex has a ( without its )",
    ),
    (
        "unknown vigil option",
        lambda b: b.update(vigil={"expireOnResolv": True}),
        "vigil.expireOnResolv",
        "unknown option",
    ),
    (
        "isRegex not a bool",
        lambda b: b.update(matchers=[{**payments(), "isRegex": "false"}]),
        "matchers[0].isRegex",
        "true or false",
    ),
    ("createdBy a number", lambda b: b.update(createdBy=7), "createdBy", "a string"),
    ("no createdBy", lambda b: b.pop("createdBy"), "createdBy", "must not be empty"),
    ("endsAt a number", lambda b: b.update(endsAt=1764900000), "endsAt", ""),
    ("startsAt not a time", lambda b: b.update(startsAt="tomorrow"), "startsAt", ""),
    ("matchers an object", lambda b: b.update(matchers={"service": "x"}), "matchers", "a list"),
    ("matcher a string", lambda b: b.update(matchers=["service=x"]), "matchers[0]", "object"),
    ("vigil.incident text", lambda b: b.update(vigil={"incident": "7"}), "vigil.incident", ""),
]


@pytest.mark.parametrize(("case", "change", "field", "why"), BAD, ids=[b[0] for b in BAD])
async def test_a_bad_silence_is_400_naming_the_field_and_stores_nothing(
    client: Client, clock: FakeClock, case: str, change: Any, field: str, why: str
) -> None:
    body = silence_body(clock)
    change(body)
    resp = await client.post(SILENCES, json=body)
    got = await resp.json()
    assert resp.status == 400, (case, got)
    assert resp.content_type == "application/json"
    assert isinstance(got, str), got  # Alertmanager's error body: one string, amtool prints it
    assert got.startswith(f"{field}: "), got
    assert why in got, got
    assert await listed(client) == []


async def test_a_body_that_is_not_an_object_is_400(client: Client) -> None:
    resp = await client.post(SILENCES, json=[payments()])
    assert resp.status == 400
    assert (await resp.json()).startswith("body: ")
    assert await listed(client) == []


# --- the API token --------------------------------------------------------------------------


async def test_the_api_token_guards_every_route(make_vigil: MakeVigil, clock: FakeClock) -> None:
    vigil = await make_vigil(api_token=Secret("api-t0ken"))
    bearer = {"Authorization": "Bearer api-t0ken"}
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        for how, path in [
            ("GET", SILENCES),
            ("POST", SILENCES),
            ("GET", "/api/v2/silence/abcd1234"),
            ("DELETE", "/api/v2/silence/abcd1234"),
            ("GET", ALERTS),
        ]:
            resp = await client.request(how, path, json=silence_body(clock))
            assert resp.status == 401, (how, path)
            assert resp.headers["WWW-Authenticate"] == 'Bearer realm="vigil"'
        assert (await vigil.silences.listed()) == []
        resp = await client.post(SILENCES, json=silence_body(clock), headers=bearer)
        sid = (await resp.json())["silenceID"]
        resp = await client.get(f"/api/v2/silence/{sid}", headers=bearer)
        assert resp.status == 200
        assert (await client.get(ALERTS, headers=bearer)).status == 200


# --- /api/v2/alerts: what is muted, and by what ---------------------------------------------


async def test_alerts_show_what_is_silenced_inhibited_or_active(
    client: Client, clock: FakeClock
) -> None:
    """A P1 for payments mutes its symptom (the default inhibition rule); a silence on
    ``LatencyHigh`` mutes that one; the P1's own alert is active."""
    down = await post_alert(client, "PaymentsDown")
    assert down["action"] == "opened"
    symptom = await post_alert(client, "QueueBacklog", severity="warning")
    assert symptom["action"] == "muted"
    sid = await create(client, silence_body(clock, matcher("alertname", "LatencyHigh"), payments()))
    assert (await post_alert(client, "LatencyHigh"))["action"] == "muted"

    by_name = {a["labels"]["alertname"]: a for a in await alerts(client)}
    assert set(by_name) == {"PaymentsDown", "QueueBacklog", "LatencyHigh"}
    assert by_name["LatencyHigh"]["status"] == {
        "state": "suppressed",
        "silencedBy": [sid],
        "inhibitedBy": [],
        "mutedBy": [],
    }
    backlog = by_name["QueueBacklog"]["status"]
    assert backlog["state"] == "suppressed"
    assert backlog["silencedBy"] == []
    assert backlog["inhibitedBy"] == [down["fingerprint"]]
    assert by_name["PaymentsDown"]["status"]["state"] == "active"
    assert by_name["PaymentsDown"]["vigil"]["incident"] == down["incident_id"]
    assert by_name["LatencyHigh"]["vigil"]["incident"] is None
    assert by_name["LatencyHigh"]["fingerprint"]

    async def names(**query: str) -> set[str]:
        return {a["labels"]["alertname"] for a in await alerts(client, **query)}

    assert await names(silenced="false") == {"PaymentsDown", "QueueBacklog"}
    assert await names(inhibited="false") == {"PaymentsDown", "LatencyHigh"}
    assert await names(active="false") == {"QueueBacklog", "LatencyHigh"}
    assert await names(silenced="false", inhibited="false") == {"PaymentsDown"}
    assert await names(filter='alertname=~"Latency.*|Queue.*"') == {"LatencyHigh", "QueueBacklog"}
    assert await names(filter='severity="warning"', inhibited="false") == set()

    resp = await client.get(ALERTS, params={"silenced": "maybe"})
    assert resp.status == 400
    assert (await resp.json()).startswith("silenced: ")
