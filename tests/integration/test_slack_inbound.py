"""What reaches /slack/events that Slack did not mean: replays, forged or broken requests.

Real signed requests (tests.slack_signing) over real HTTP into Vigil's own server, answers
out to the local Slack stand-in. A replay must not run twice; a refused request must leave
one short log line, never its body; a signed request whose timestamp or body is not what
it claims is a 4xx with nothing run or stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.chat.slack.blocks.actions import ACK
from bot.chat.slack.modals import NEW_INCIDENT_CALLBACK
from bot.chat.slack.settings import SlackSettings
from bot.core.secret import Secret
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.slack_signing import (
    block_action_body,
    post_signed,
    sign,
    slash_command_body,
    view_submission_body,
)
from tests.slack_standin import SlackStandin

SECRET = "0c1d2e3f405162738495a6b7c8d9e0f1"
SAM = "U0SAM0001"
FORGED = "ERROR bot.runtime.app: Slack token revoked; paging disabled"


@dataclass
class Rig:
    vigil: Vigil
    slack: SlackStandin
    url: str
    session: aiohttp.ClientSession

    async def post(
        self, body: bytes, headers: dict[str, str], content_type: str | None = None
    ) -> tuple[int, bytes]:
        sent = {"Content-Type": content_type or "application/x-www-form-urlencoded", **headers}
        async with self.session.post(self.url, data=body, headers=sent) as resp:
            return resp.status, await resp.read()

    async def command(self, text: str) -> bytes:
        """A signed /incident TEXT from Sam; its answer is awaited."""
        before = len(self.slack.responses)
        body = slash_command_body(
            "/incident", text, user_id=SAM, response_url=self.slack.response_url()
        )
        resp = await post_signed(self.session, self.url, body, SECRET)
        assert resp.status == 200
        await self.slack.wait_for(lambda: len(self.slack.responses) > before)
        return body


@pytest.fixture
async def rig(make_vigil: MakeVigil) -> AsyncIterator[Rig]:
    async with SlackStandin() as slack:
        slack.add_channel("incidents")
        settings = SlackSettings(
            bot_token=Secret("xoxb-test"),
            signing_secret=Secret(SECRET),
            api_url=slack.url,
            alerts_channel="#incidents",
            users=MappingProxyType({}),
            responder_groups=MappingProxyType({"ml-oncall": frozenset({SAM})}),
        )
        vigil = await make_vigil(slack=settings)
        async with (
            TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as http,
            aiohttp.ClientSession() as session,
        ):
            yield Rig(vigil, slack, str(http.make_url("/slack/events")), session)


def _signed(body: bytes, timestamp: str) -> dict[str, str]:
    """Slack's two headers for any timestamp text (``sign`` takes only integers)."""
    base = b"v0:" + timestamp.encode() + b":" + body
    digest = hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}


async def _titles(vigil: Vigil) -> list[str]:
    return [i.title for i in await vigil.incidents.list(include_closed=True)]


# -- replays and retries ---------------------------------------------------------------


async def test_a_replayed_signed_command_is_answered_but_not_run_again(rig: Rig) -> None:
    body = slash_command_body(
        "/incident", "new Ranker down --sev P3", user_id=SAM, response_url=rig.slack.response_url()
    )
    headers = sign(SECRET, body, int(time.time()))
    assert (await rig.post(body, headers))[0] == 200
    await rig.slack.wait_for(lambda: len(rig.slack.responses) == 1)

    status, _ = await rig.post(body, headers)  # the very same bytes and headers, again
    assert status == 200  # Slack (or whoever) gets an answer, so nothing is retried
    # The replay's work would have begun before this probe was even sent.
    await rig.command("new Probe --sev P4")
    assert await _titles(rig.vigil) == ["Probe", "Ranker down"]
    assert [r.text.split(":")[0].split(" ", 1)[1] for r in rig.slack.responses] == [
        "P3 #1 opened by <@U0SAM0001>",
        "P4 #2 opened by <@U0SAM0001>",
    ]


async def test_a_command_that_says_payload_is_run_like_any_other(rig: Rig) -> None:
    # Bolt reads any form holding the letters "payload" as an interaction: this note
    # reached no listener (a 404 to Slack) and was lost.
    await rig.command("new Ranker down --sev P3")
    await rig.command("note 1 bad payload from upstream, payload=[] in the logs")
    notes = [e.text for e in (await rig.vigil.incidents.get(1)).timeline if e.kind == "note"]
    assert notes == ["bad payload from upstream, payload=[] in the logs"], notes


async def test_a_replayed_button_click_is_not_run_again(rig: Rig) -> None:
    await rig.command("new Ranker down --sev P3")
    body = block_action_body(ACK, "1", user_id=SAM, response_url=rig.slack.response_url())
    headers = sign(SECRET, body, int(time.time()))
    assert (await rig.post(body, headers))[0] == 200
    assert (await rig.post(body, headers))[0] == 200
    await rig.command("show 1")
    view = await rig.vigil.incidents.get(1)
    assert [e.kind for e in view.timeline].count("state") == 1
    # Replayed, the click would have drawn "already acknowledged" to its response URL.
    assert not [r for r in rig.slack.responses if "already acknowledged" in r.text]


async def test_an_unsigned_copy_does_not_make_slacks_real_retry_look_handled(rig: Rig) -> None:
    """Only a request that ran is remembered: someone who posts a body unsigned first
    cannot make Slack's own signed delivery of it (marked as a retry) be dropped."""
    body = slash_command_body(
        "/incident", "new Ranker down --sev P3", user_id=SAM, response_url=rig.slack.response_url()
    )
    assert (await rig.post(body, {}))[0] == 401
    resp = await post_signed(rig.session, rig.url, body, SECRET, retry_num=1)
    assert resp.status == 200
    await rig.slack.wait_for(lambda: len(rig.slack.responses) == 1)
    assert await _titles(rig.vigil) == ["Ranker down"]


# -- refused requests leave one short line in the log ----------------------------------


@pytest.mark.parametrize("signed_with", [None, "not-the-secret"])
async def test_a_refused_megabyte_body_is_not_logged(
    rig: Rig, caplog: pytest.LogCaptureFixture, signed_with: str | None
) -> None:
    caplog.set_level(logging.DEBUG)
    body = b"text=" + b"A" * 600_000 + b"\n" + FORGED.encode() + b"\n" + b"B" * 399_000
    headers = sign(signed_with, body, int(time.time())) if signed_with else {}
    status, answer = await rig.post(body, headers)
    assert status == 401
    assert json.loads(answer)["field"] in {"X-Slack-Request-Timestamp", "X-Slack-Signature"}
    assert FORGED not in caplog.text
    assert "AAAAAAAAAA" not in caplog.text
    assert max(len(r.getMessage()) for r in caplog.records) < 300
    [line] = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert line.startswith("Slack request refused (401): X-Slack-")
    assert line.endswith(f"; {len(body)} bytes, nothing run")
    assert await _titles(rig.vigil) == []


# -- signed requests that are not what they claim --------------------------------------


@pytest.mark.parametrize("timestamp", ["abc", "²", "1" * 5000, "\uff11\uff17\uff10", "-1", " 170"])
async def test_a_non_numeric_timestamp_is_a_401_not_a_500(rig: Rig, timestamp: str) -> None:
    body = slash_command_body(
        "/incident", "new Ranker down", user_id=SAM, response_url=rig.slack.response_url()
    )
    headers = _signed(body, timestamp)
    if not timestamp.isascii():  # HTTP headers travel as Latin-1: send the UTF-8 bytes so
        headers["X-Slack-Request-Timestamp"] = timestamp.encode().decode("latin-1")
    status, answer = await rig.post(body, headers)
    assert status == 401
    assert json.loads(answer)["field"] == "X-Slack-Request-Timestamp"
    assert await _titles(rig.vigil) == []


def _form(**fields: str) -> bytes:
    return urlencode(fields).encode()


_VIEW = view_submission_body(
    NEW_INCIDENT_CALLBACK,
    {"title": {"title": {"type": "plain_text_input", "value": "Ranker \ud800 down"}}},
    user_id=SAM,
)

_EVENT = json.dumps({"type": "event_callback", "event": {"text": "\ud800"}}).encode()


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        (_form(payload="{not json"), None, "payload"),
        (_form(payload="[1, 2]"), None, "payload"),
        (b"{not json", "application/json", "body"),
        (b"not json at all", "application/json", "body"),
        (b"[1, 2]", "application/json", "body"),
        (b"command=%2Fincident&text=new+Ranker\xff\xfe", None, "body"),
        (slash_command_body("/incident", "new Ranker") + b"%ED%A0%80", None, "body"),
        (_VIEW, None, "payload"),
        (_EVENT, None, "body"),
        (_form(command="/incident", text="new Ranker\x00 down", user_id=SAM), None, "body"),
    ],
    ids=[
        "payload-not-json",
        "payload-not-object",
        "json-broken",
        "json-claimed-text",
        "json-not-object",
        "not-utf8",
        "percent-encoded-surrogate",
        "lone-surrogate-in-payload",
        "lone-surrogate-in-event",
        "nul-in-form",
    ],
)
async def test_a_signed_body_that_is_not_what_it_claims_is_a_400(
    rig: Rig, body: bytes, content_type: str | None, field: str
) -> None:
    status, answer = await rig.post(body, _signed(body, str(int(time.time()))), content_type)
    assert status == 400
    error = json.loads(answer)
    assert (error["error"], error["field"]) == ("bad_request", field)
    await rig.command("list")  # anything the bad request set off would have run by now
    assert await _titles(rig.vigil) == []
    assert len(rig.slack.responses) == 1
