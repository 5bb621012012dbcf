"""Slack: incident channels (``slack.incident_channels``), the new-incident modal, Socket Mode.

Same rig as ``test_slack``: signed requests over real HTTP into Vigil, Web API calls through
the real slack_sdk to the local stand-in, the outbox driven with ``run_once`` on the
FakeClock; no sleeps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from slack_bolt.middleware.request_verification.async_request_verification import (
    AsyncRequestVerification,
)

from bot.chat.slack import backend as slack_backend
from bot.chat.slack.modals import NEW_INCIDENT_CALLBACK, SEVERITY_BLOCK, TITLE_BLOCK
from bot.chat.slack.outbound.channels import channel_name
from bot.chat.slack.settings import SlackSettings, load_slack_settings
from bot.config.load import load_settings
from bot.core.errors import ConfigError
from bot.core.secret import Secret
from bot.incidents.views import IncidentView
from tests.conftest import MakeVigil
from tests.integration.test_slack import SAM, SECRET, Rig, StateWatch, _settings
from tests.slack_signing import post_signed, slash_command_body, view_submission_body
from tests.slack_standin import SlackStandin
from tests.support import FakeClock

MAYA = "U0MAYA001"  # @maya in slack.users: paged at level 1
ESCALATION = "escalation:\n  levels:\n    - {notify: ['@maya'], wait: 5m}\n"


@pytest.fixture
async def make_rig(
    make_vigil: MakeVigil, tmp_path: Path
) -> AsyncIterator[Any]:  # a factory: incident_channels on or off
    async with SlackStandin() as slack, aiohttp.ClientSession() as session:
        clients: list[TestClient[Any, Any]] = []

        async def make(*, channels: bool) -> Rig:
            path = tmp_path / "vigil.yaml"
            path.write_text(ESCALATION)
            settings = dataclasses.replace(_settings(slack.url), incident_channels=channels)
            vigil = await make_vigil(slack=settings, oncall=load_settings(path, {}).oncall)
            http: TestClient[Any, Any] = TestClient(TestServer(vigil.web_app(), host="127.0.0.1"))
            await http.start_server()
            clients.append(http)
            return Rig(vigil, slack, http, session, slack.add_channel("incidents"))

        yield make
        for http in clients:
            await http.close()


def _incident_channels(rig: Rig) -> list[str]:
    return [cid for cid, c in rig.slack.channels.items() if c["name"].startswith("inc-")]


def _top_level(rig: Rig, channel: str) -> list[Any]:
    return [m for m in rig.slack.messages(channel) if m.thread_ts in (None, m.ts)]


def _invites(rig: Rig, user: str) -> int:
    return sum(1 for c in rig.slack.calls_to("conversations.invite") if c.args["users"] == user)


# -- incident channels ---------------------------------------------------------------------


async def test_a_p1_gets_one_channel_with_the_card_pinned_and_its_people_invited(
    make_rig: Any, clock: FakeClock
) -> None:
    rig: Rig = await make_rig(channels=True)
    incidents = rig.vigil.incidents
    await incidents.open(
        title="Fraud scorer accuracy", actor="<@U0SAM0001>", severity="P1", model="fraud-scorer"
    )
    await incidents.assign(1, f"<@{SAM}>", actor="<@U0SAM0001>")
    await rig.flush(clock)

    [create] = rig.slack.calls_to("conversations.create")
    assert create.args["name"] == "inc-1-fraud-scorer-accuracy"
    [room] = _incident_channels(rig)
    [copy] = _top_level(rig, room)
    assert copy.pinned
    assert copy.text.startswith("🔴 P1 #1")
    [card] = _top_level(rig, rig.channel)  # the card stays in the alerts channel too
    assert not card.pinned
    assert {MAYA, SAM} <= rig.slack.members[room]
    assert (_invites(rig, MAYA), _invites(rig, SAM)) == (1, 1)
    replies = [m.text for m in rig.slack.thread(room, copy.ts)]
    assert any("incident commander" in t for t in replies)
    assert any("Paged @maya" in t for t in replies)

    await incidents.acknowledge(1, actor="<@U0SAM0001>")
    await incidents.assign(1, f"<@{SAM}>", actor="<@U0SAM0001>")  # the same commander again
    clock.advance(seconds=1)
    await rig.flush(clock)
    assert "acknowledged" in str(rig.slack.message(room, copy.ts).blocks).lower()
    assert len(rig.slack.calls_to("conversations.create")) == 1
    assert len(rig.slack.calls_to("pins.add")) == 1
    assert (_invites(rig, MAYA), _invites(rig, SAM)) == (1, 1)  # each invited once
    assert len(_top_level(rig, room)) == 1


async def test_a_p3_gets_no_channel_until_it_becomes_p2(make_rig: Any, clock: FakeClock) -> None:
    rig: Rig = await make_rig(channels=True)
    await rig.vigil.incidents.open(title="Ranker p99 up", actor="<@U0SAM0001>", severity="P3")
    await rig.flush(clock)
    assert _top_level(rig, rig.channel)  # the card went out
    assert rig.slack.calls_to("conversations.create") == []
    assert _incident_channels(rig) == []

    await rig.vigil.incidents.set_severity(1, "P2", actor="<@U0SAM0001>")
    clock.advance(seconds=1)
    await rig.flush(clock)
    [create] = rig.slack.calls_to("conversations.create")
    assert create.args["name"] == "inc-1-ranker-p99-up"
    [room] = _incident_channels(rig)
    [copy] = _top_level(rig, room)
    assert copy.pinned
    assert copy.text.startswith("🟠 P2 #1")


async def test_a_retry_after_pins_add_failed_creates_no_second_channel(
    make_rig: Any, clock: FakeClock
) -> None:
    rig: Rig = await make_rig(channels=True)
    rig.slack.fail_next("pins.add", kind="http_500")
    await rig.vigil.incidents.open(title="Ranker down", actor="<@U0SAM0001>", severity="P1")
    await rig.flush(clock)
    [room] = _incident_channels(rig)
    [copy] = _top_level(rig, room)
    assert not copy.pinned  # failed: the item waits for its retry
    assert [c.status for c in rig.slack.calls_to("pins.add")] == [500]

    clock.advance(minutes=1)
    await rig.flush(clock)
    assert len(rig.slack.calls_to("conversations.create")) == 1
    assert _incident_channels(rig) == [room]
    [copy] = _top_level(rig, room)  # no second copy either
    assert copy.pinned
    assert _invites(rig, MAYA) == 1
    posts = rig.slack.calls_to("chat.postMessage")
    cards = [c for c in posts if "thread_ts" not in c.args and c.args["channel"][0] != "D"]
    assert [c.args["channel"] for c in cards] == ["#incidents", room]  # once each


async def test_a_taken_name_gets_a_suffix(make_rig: Any, clock: FakeClock) -> None:
    rig: Rig = await make_rig(channels=True)
    rig.slack.add_channel("inc-1-ranker-down")  # left over from another Vigil, say
    await rig.vigil.incidents.open(title="Ranker down", actor="<@U0SAM0001>", severity="P1")
    await rig.flush(clock)
    names = [c.args["name"] for c in rig.slack.calls_to("conversations.create")]
    assert names == ["inc-1-ranker-down", "inc-1-ranker-down-2"]
    room = next(cid for cid, c in rig.slack.channels.items() if c["name"] == names[1])
    assert _top_level(rig, room)[0].pinned


async def test_with_the_setting_off_no_channel_is_created(make_rig: Any, clock: FakeClock) -> None:
    rig: Rig = await make_rig(channels=False)
    await rig.vigil.incidents.open(title="Ranker down", actor="<@U0SAM0001>", severity="P1")
    await rig.flush(clock)
    assert _top_level(rig, rig.channel)[0].text.startswith("🔴 P1 #1")
    assert rig.slack.calls_to("conversations.create") == []
    assert rig.slack.calls_to("conversations.invite") == []
    assert rig.slack.calls_to("pins.add") == []


def _view(incident_id: int, title: str) -> IncidentView:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return IncidentView(
        id=incident_id,
        title=title,
        severity="P1",
        severity_reason="",
        severity_source="human",
        state="triggered",
        commander=None,
        service=None,
        model=None,
        group_key="manual:",
        created_by="<@U0SAM0001>",
        created_at=now,
        updated_at=now,
        acknowledged_at=None,
        contained_at=None,
        resolved_at=None,
    )


def test_channel_names_are_slack_safe() -> None:
    assert channel_name("inc-", _view(12, "Fraud scorer: accuracy < 0.9!")) == (
        "inc-12-fraud-scorer-accuracy-0-9"
    )
    assert channel_name("inc-", _view(3, "Überlast im Ranker")) == "inc-3-uberlast-im-ranker"
    assert channel_name("inc-", _view(4, "!!!")) == "inc-4"
    long = channel_name("inc-", _view(123456, "word " * 40), attempt=10)
    assert len(long) <= 80
    assert long.endswith("-10")
    assert set(long) <= set("abcdefghijklmnopqrstuvwxyz0123456789-_")


def test_incident_channel_settings_are_parsed_and_checked() -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    default = load_slack_settings({}, env, where="vigil.yaml")
    assert default is not None
    assert (default.incident_channels, default.incident_channel_prefix) == (False, "inc-")
    on = load_slack_settings(
        {"incident_channels": True, "incident_channel_prefix": "sev-"}, env, where="vigil.yaml"
    )
    assert on is not None
    assert on.incident_channels
    assert on.incident_channel_prefix == "sev-"
    assert on.wants_incident_channel("P2")
    assert not on.wants_incident_channel("P3")
    with pytest.raises(ConfigError) as flag:
        load_slack_settings({"incident_channels": "yes"}, env, where="vigil.yaml")
    assert flag.value.key == "slack.incident_channels"
    for bad in ("INC-", "#inc-", "", "inc " * 10):
        with pytest.raises(ConfigError) as prefix:
            load_slack_settings({"incident_channel_prefix": bad}, env, where="vigil.yaml")
        assert prefix.value.key == "slack.incident_channel_prefix"


# -- the new-incident modal ----------------------------------------------------------------


def _modal_values(title: str, severity: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        TITLE_BLOCK: {TITLE_BLOCK: {"type": "plain_text_input", "value": title}}
    }
    if severity is not None:
        option = {"text": {"type": "plain_text", "text": severity}, "value": severity}
        values[SEVERITY_BLOCK] = {
            SEVERITY_BLOCK: {"type": "static_select", "selected_option": option}
        }
    return values


async def _submit(rig: Rig, values: dict[str, Any]) -> aiohttp.ClientResponse:
    body = view_submission_body(
        NEW_INCIDENT_CALLBACK, values, user_id=SAM, private_metadata=rig.channel
    )
    return await post_signed(rig.session, str(rig.http.make_url("/slack/events")), body, SECRET)


async def test_incident_without_text_opens_the_modal_and_its_submission_opens_the_incident(
    make_rig: Any,
) -> None:
    rig: Rig = await make_rig(channels=False)
    watch = StateWatch(rig.vigil)
    body = slash_command_body(
        "/incident", "", user_id=SAM, response_url=rig.slack.response_url(), trigger_id="12.34.ab"
    )
    resp, _ = await rig.command("/incident", "", body=body)
    assert resp.status == 200
    [opened] = await rig.slack.wait_for(lambda: rig.slack.views)
    assert opened.trigger_id == "12.34.ab"
    assert opened.view["callback_id"] == "vigil_new_incident"
    assert opened.view["private_metadata"] == "C0INCIDNT"  # the channel it came from

    resp = await _submit(rig, _modal_values("Ranker p99 over 2s", "P2"))
    assert resp.status == 200
    await watch.reached(1, "triggered")
    [view] = await rig.vigil.incidents.list(include_closed=True)
    assert (view.title, view.severity, view.created_by) == (
        "Ranker p99 over 2s",
        "P2",
        f"<@{SAM}>",
    )


async def test_a_submission_without_a_title_is_sent_back_and_opens_nothing(
    make_rig: Any,
) -> None:
    rig: Rig = await make_rig(channels=False)
    watch = StateWatch(rig.vigil)
    resp = await _submit(rig, _modal_values("   ", "P2"))
    assert resp.status == 200
    answer = await resp.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [TITLE_BLOCK]
    assert await rig.vigil.incidents.list(include_closed=True) == []

    await _submit(rig, _modal_values("Ranker down", None))  # corrected: now it opens, as #1
    await watch.reached(1, "triggered")
    [view] = await rig.vigil.incidents.list(include_closed=True)
    assert (view.id, view.title, view.severity) == (1, "Ranker down", "P4")


# -- Socket Mode ---------------------------------------------------------------------------


class _FakeSocketHandler:
    """Stands in for Bolt's Socket Mode handler: records what it was given, never connects."""

    made: ClassVar[list[_FakeSocketHandler]] = []

    def __init__(self, app: object, app_token: str) -> None:
        self.app, self.app_token = app, app_token
        self.connected = self.closed = False
        _FakeSocketHandler.made.append(self)

    async def connect_async(self) -> None:
        self.connected = True

    async def close_async(self) -> None:
        self.closed = True


def _verifies_requests(app: Any) -> bool:
    return any(isinstance(m, AsyncRequestVerification) for m in app._async_middleware_list)


async def test_socket_mode_turns_request_verification_off_and_connects_with_the_app_token(
    make_vigil: MakeVigil, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_backend, "AsyncSocketModeHandler", _FakeSocketHandler)
    _FakeSocketHandler.made.clear()
    async with SlackStandin() as slack:
        http_mode = await make_vigil(slack=_settings(slack.url))
        socket = SlackSettings(
            bot_token=Secret("xoxb-test"),
            signing_secret=Secret(""),
            app_token=Secret("xapp-1-test"),
            api_url=slack.url,
            users=MappingProxyType({}),
        )
        vigil = await make_vigil(slack=socket)
        assert http_mode.slack is not None
        assert vigil.slack is not None
        front = vigil.slack.front
        assert front.settings.socket_mode
        assert not http_mode.slack.front.settings.socket_mode
        assert not _verifies_requests(front.app)
        assert _verifies_requests(http_mode.slack.front.app)
        routes = {r.resource.canonical for r in vigil.web_app().router.routes() if r.resource}
        assert "/slack/events" not in routes  # over the socket only: no unsigned HTTP way in
        http_routes = {
            r.resource.canonical for r in http_mode.web_app().router.routes() if r.resource
        }
        assert "/slack/events" in http_routes

        await vigil.slack.backend.start()
        [handler] = _FakeSocketHandler.made
        assert handler.app is front.app
        assert handler.app_token == "xapp-1-test"
        assert handler.connected
        await vigil.slack.backend.stop()
        assert handler.closed
        await http_mode.slack.backend.start()  # HTTP mode: no Socket Mode handler at all
        assert len(_FakeSocketHandler.made) == 1
