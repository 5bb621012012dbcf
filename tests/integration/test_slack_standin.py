"""The Slack stand-in must speak Slack's wire format, proven through the real slack_sdk client.

Every other Slack test trusts the stand-in; if it answered in a shape the real SDK would not
produce or accept (wrong status for a rate limit, a missing ``Retry-After``, JSON where Slack
sends form), those tests would pass against a Slack that does not exist. So each behaviour here
is exercised via ``AsyncWebClient`` / ``AsyncWebhookClient`` / ``SignatureVerifier`` themselves.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.slack_signing import (
    block_action_body,
    post_signed,
    sign,
    slash_command_body,
    view_submission_body,
)
from tests.slack_standin import BOT_ID, BOT_USER_ID, SlackStandin

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*P1* GPU node down"}}]


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandin]:
    async with SlackStandin() as standin:
        yield standin


@pytest.fixture
def client(slack: SlackStandin) -> AsyncWebClient:
    """The real SDK client; no retry handlers, so each test sees exactly one attempt."""
    return AsyncWebClient(token=slack.bot_token, base_url=slack.url, retry_handlers=[])


async def test_url_is_local_and_ends_with_slash(slack: SlackStandin) -> None:
    assert slack.url.startswith("http://127.0.0.1:")
    assert slack.url.endswith("/api/")


async def test_auth_test_has_the_fields_bolt_reads(
    slack: SlackStandin, client: AsyncWebClient
) -> None:
    resp = await client.auth_test()
    assert resp["ok"] is True
    assert (resp["user_id"], resp["bot_id"]) == (BOT_USER_ID, BOT_ID)
    assert resp["team_id"].startswith("T")
    assert resp["url"].endswith(".slack.com/")
    assert "chat:write" in resp.headers["X-OAuth-Scopes"]


async def test_post_message_returns_increasing_ts_and_records_state(
    slack: SlackStandin, client: AsyncWebClient
) -> None:
    first = await client.chat_postMessage(channel="C0INCIDNT", text="P1 opened", blocks=BLOCKS)
    second = await client.chat_postMessage(
        channel="C0INCIDNT", text="triage started", thread_ts=first["ts"]
    )
    assert first["channel"] == "C0INCIDNT"
    assert first["message"]["text"] == "P1 opened"
    assert first["message"]["blocks"] == BLOCKS
    assert first["message"]["ts"] == first["ts"]
    assert second["message"]["thread_ts"] == first["ts"]
    assert float(second["ts"]) > float(first["ts"])
    assert [m.ts for m in slack.messages("C0INCIDNT")] == [first["ts"], second["ts"]]
    assert [m.text for m in slack.thread("C0INCIDNT", first["ts"])] == ["triage started"]
    [call, _] = slack.calls_to("chat.postMessage")
    assert call.args["blocks"] == BLOCKS
    assert call.token == slack.bot_token


async def test_form_encoded_blocks_are_decoded(slack: SlackStandin, client: AsyncWebClient) -> None:
    """slack_sdk sends some calls form-encoded, with blocks as a JSON string inside the form."""
    resp = await client.api_call(
        "chat.postMessage", data={"channel": "C1", "text": "form", "blocks": json.dumps(BLOCKS)}
    )
    assert slack.message("C1", resp["ts"]).blocks == BLOCKS


async def test_post_message_without_content_is_no_text(client: AsyncWebClient) -> None:
    with (
        pytest.warns(UserWarning, match="text"),  # slack_sdk's own warning; Slack then refuses
        pytest.raises(SlackApiError) as err,
    ):
        await client.chat_postMessage(channel="C1", text="")
    assert err.value.response["error"] == "no_text"


async def test_channel_names_resolve_and_unknown_names_fail(
    slack: SlackStandin, client: AsyncWebClient
) -> None:
    cid = slack.add_channel("incidents")
    resp = await client.chat_postMessage(channel="#incidents", text="hi")
    assert resp["channel"] == cid
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="#nowhere", text="hi")
    assert err.value.response["error"] == "channel_not_found"


async def test_chat_update_changes_the_recorded_message(
    slack: SlackStandin, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C1", text="P2 open", blocks=BLOCKS)
    resp = await client.chat_update(channel="C1", ts=posted["ts"], text="P2 resolved")
    assert (resp["channel"], resp["ts"], resp["text"]) == ("C1", posted["ts"], "P2 resolved")
    msg = slack.message("C1", posted["ts"])
    assert msg.text == "P2 resolved"
    assert msg.blocks == BLOCKS, "Slack keeps previous blocks when chat.update omits them"
    assert msg.edits[0]["text"] == "P2 open"
    await client.chat_update(channel="C1", ts=posted["ts"], text="P2 resolved", blocks=[])
    assert slack.message("C1", posted["ts"]).blocks == []
    assert len(slack.messages("C1")) == 1


async def test_chat_update_unknown_ts_is_message_not_found(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel="C1", ts="1.000001", text="x")
    assert err.value.response["error"] == "message_not_found"


async def test_ok_false_fault_raises_slack_api_error_once(
    slack: SlackStandin, client: AsyncWebClient
) -> None:
    slack.fail_next("chat.postMessage", kind="ok_false", error="channel_not_found")
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="lost")
    assert err.value.response.status_code == 200
    assert err.value.response["error"] == "channel_not_found"
    await client.chat_postMessage(channel="C1", text="delivered")
    assert [m.text for m in slack.messages("C1")] == ["delivered"]
    assert [(c.ok, c.error) for c in slack.calls_to("chat.postMessage")] == [
        (False, "channel_not_found"),
        (True, None),
    ]


async def test_rate_limit_is_429_with_retry_after(
    slack: SlackStandin, client: AsyncWebClient
) -> None:
    slack.fail_next("chat.postMessage", kind="ratelimited", retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] == "7"
    assert slack.calls[-1].status == 429
    assert slack.messages("C1") == []


async def test_rate_limit_retry_handler_retries_and_succeeds(slack: SlackStandin) -> None:
    client = AsyncWebClient(
        token=slack.bot_token,
        base_url=slack.url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    slack.fail_next("chat.postMessage", times=2, kind="ratelimited", retry_after=0)
    resp = await client.chat_postMessage(channel="C1", text="eventually")
    assert resp["ok"] is True
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 429, 200]
    assert [m.text for m in slack.messages("C1")] == ["eventually"]


@pytest.mark.parametrize(("kind", "status"), [("http_500", 500), ("http_503", 503)])
async def test_server_errors_surface_their_status(
    slack: SlackStandin, client: AsyncWebClient, kind: str, status: int
) -> None:
    slack.fail_next("*", kind=kind)  # type: ignore[arg-type]
    with pytest.raises(SlackApiError) as err:
        await client.auth_test()
    assert err.value.response.status_code == status


async def test_wrong_or_missing_token(slack: SlackStandin) -> None:
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=slack.url, retry_handlers=[])
    with pytest.raises(SlackApiError) as err:
        await wrong.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 200
    assert err.value.response["error"] == "invalid_auth"
    anonymous = AsyncWebClient(base_url=slack.url, retry_handlers=[])
    with pytest.raises(SlackApiError) as err:
        await anonymous.auth_test()
    assert err.value.response["error"] == "not_authed"
    assert slack.messages("C1") == []


async def test_unknown_method(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.api_call("chat.teleport")
    assert err.value.response["error"] == "unknown_method"


async def test_views_open_needs_a_single_use_trigger(
    slack: SlackStandin, client: AsyncWebClient
) -> None:
    view = {"type": "modal", "callback_id": "declare", "title": {"type": "plain_text", "text": "x"}}
    with pytest.raises(SlackApiError) as err:
        await client.views_open(view=view)
    assert err.value.response["error"] == "invalid_arguments"
    opened = await client.views_open(trigger_id="1.2.abc", view=view)
    assert opened["view"]["id"].startswith("V")
    assert opened["view"]["callback_id"] == "declare"
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id="1.2.abc", view=view)
    assert err.value.response["error"] == "exchanged_trigger_id"
    assert [v.trigger_id for v in slack.views] == ["1.2.abc"]


async def test_conversations_open_create_invite_and_pins(
    slack: SlackStandin, client: AsyncWebClient
) -> None:
    dm = await client.conversations_open(users="U1")
    again = await client.conversations_open(users=["U1"])
    assert dm["channel"]["id"].startswith("D")
    assert again["channel"]["id"] == dm["channel"]["id"]
    assert (dm["already_open"], again["already_open"]) == (False, True)

    created = await client.conversations_create(name="inc-42-gpu")
    cid = created["channel"]["id"]
    assert cid.startswith("C")
    assert created["channel"]["name"] == "inc-42-gpu"
    with pytest.raises(SlackApiError) as err:
        await client.conversations_create(name="inc-42-gpu")
    assert err.value.response["error"] == "name_taken"

    await client.conversations_invite(channel=cid, users=["U1", "U2"])
    assert slack.members[cid] == {BOT_USER_ID, "U1", "U2"}
    with pytest.raises(SlackApiError) as err:
        await client.conversations_invite(channel=cid, users="U1")
    assert err.value.response["error"] == "already_in_channel"

    posted = await client.chat_postMessage(channel=cid, text="summary")
    await client.pins_add(channel=cid, timestamp=posted["ts"])
    assert slack.message(cid, posted["ts"]).pinned
    with pytest.raises(SlackApiError) as err:
        await client.pins_add(channel=cid, timestamp=posted["ts"])
    assert err.value.response["error"] == "already_pinned"


async def test_ephemeral_and_users_info(slack: SlackStandin, client: AsyncWebClient) -> None:
    resp = await client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert resp["message_ts"] == slack.ephemerals[0].message_ts
    assert slack.messages("C1") == [], "ephemeral messages are not channel messages"
    slack.add_user("U7", "ada", real_name="Ada Lovelace")
    info = await client.users_info(user="U7")
    assert info["user"]["real_name"] == "Ada Lovelace"
    assert slack.calls_to("users.info")[0].args == {"user": "U7"}


async def test_strict_users_rejects_strangers() -> None:
    async with SlackStandin(strict_users=True) as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.url, retry_handlers=[])
        with pytest.raises(SlackApiError) as err:
            await client.users_info(user="U404")
        assert err.value.response["error"] == "user_not_found"


async def test_response_url_posts_are_recorded(slack: SlackStandin) -> None:
    """Bolt's ``respond()`` posts with AsyncWebhookClient; the stand-in must accept it."""
    url = slack.response_url(1)
    webhook = AsyncWebhookClient(url)
    resp = await webhook.send(text="Declared P1", response_type="in_channel", blocks=BLOCKS)
    assert resp.status_code == 200
    [posted] = slack.responses_to(url)
    assert (posted.text, posted.response_type, posted.blocks) == (
        "Declared P1",
        "in_channel",
        BLOCKS,
    )
    await webhook.send(text="updated", replace_original=True)
    assert slack.responses[-1].replace_original is True


async def test_response_url_limits_and_faults(slack: SlackStandin) -> None:
    url = slack.response_url("limited")
    webhook = AsyncWebhookClient(url)
    slack.fail_next("response_url", kind="http_503")
    assert (await webhook.send(text="x")).status_code == 503
    for _ in range(5):
        assert (await webhook.send(text="x")).status_code == 200
    assert (await webhook.send(text="sixth")).status_code == 404
    assert len(slack.responses) == 5
    stranger = AsyncWebhookClient(url.replace("limited", "never-issued"))
    assert (await stranger.send(text="x")).status_code == 404


async def test_down_gives_503_then_up_recovers(slack: SlackStandin, client: AsyncWebClient) -> None:
    slack.down()
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 503
    slack.up()
    await client.chat_postMessage(channel="C1", text="back")
    assert [m.text for m in slack.messages("C1")] == ["back"]


async def test_down_disconnect_is_a_connection_error(
    slack: SlackStandin, client: AsyncWebClient
) -> None:
    slack.down("disconnect")
    with pytest.raises(aiohttp.ClientConnectionError):
        await client.chat_postMessage(channel="C1", text="x")
    assert slack.calls[-1].error == "disconnected"
    slack.up()
    assert (await client.auth_test())["ok"] is True


async def test_wait_for_wakes_on_a_call_and_times_out_otherwise(
    slack: SlackStandin, client: AsyncWebClient
) -> None:
    task = asyncio.create_task(client.chat_postMessage(channel="C1", text="async"))
    calls = await slack.wait_for(lambda: slack.calls_to("chat.postMessage"))
    assert calls[0].args["text"] == "async"
    await task
    with pytest.raises(TimeoutError, match=r"chat\.postMessage:200"):
        await slack.wait_for(lambda: slack.calls_to("chat.update"), timeout=0.05)


def test_sign_verifies_with_the_real_verifier() -> None:
    body = slash_command_body(text="declare p1 gpu down")
    now = int(time.time())
    headers = sign(SECRET, body, now)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body + b"&x=1", headers)
    assert not SignatureVerifier("other-secret").is_valid_request(body, headers)
    stale = sign(SECRET, body, now - 600)
    assert not verifier.is_valid_request(body, stale)


def test_slash_command_body_has_slacks_fields() -> None:
    body = slash_command_body(text="declare p1", user_id="U9", response_url="http://r/1")
    fields = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    assert list(fields) == [
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    ]
    assert (fields["command"], fields["text"], fields["user_id"]) == (
        "/incident",
        "declare p1",
        "U9",
    )
    assert b"text=declare+p1" in body, "Slack form-encodes spaces as '+'"


def test_interaction_bodies_carry_one_payload_field() -> None:
    click = parse_qs(block_action_body("ack", "INC-7", "U3", message_ts="5.000100").decode())
    assert list(click) == ["payload"]
    payload = json.loads(click["payload"][0])
    assert payload["type"] == "block_actions"
    assert payload["actions"][0] | {"action_ts": None} == {
        "action_id": "ack",
        "block_id": "actions",
        "type": "button",
        "action_ts": None,
        "text": {"type": "plain_text", "text": "ack", "emoji": True},
        "value": "INC-7",
    }
    assert payload["container"]["message_ts"] == "5.000100"
    assert payload["user"]["id"] == "U3"

    values = {"sev": {"pick": {"type": "static_select", "selected_option": {"value": "P1"}}}}
    submit = parse_qs(view_submission_body("declare", values, "U3", "INC-7").decode())
    view = json.loads(submit["payload"][0])["view"]
    assert (view["callback_id"], view["private_metadata"]) == ("declare", "INC-7")
    assert view["state"]["values"] == values


async def test_post_signed_sends_headers_a_verifier_accepts() -> None:
    """A tiny receiver checks the signature with slack_sdk, as Bolt does, and echoes headers."""
    verifier = SignatureVerifier(SECRET)

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if not verifier.is_valid_request(body, dict(request.headers)):
            return web.Response(status=401)
        return web.json_response(
            {
                "retry_num": request.headers.get("X-Slack-Retry-Num"),
                "retry_reason": request.headers.get("X-Slack-Retry-Reason"),
                "command": (await request.post())["command"],
            }
        )

    app = web.Application()
    app.router.add_post("/slack/events", receive)
    async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as session:
        url = str(server.make_url("/slack/events"))
        body = slash_command_body()
        ok = await post_signed(session, url, body, SECRET, retry_num=1, retry_reason="http_timeout")
        assert ok.status == 200
        assert await ok.json() == {
            "retry_num": "1",
            "retry_reason": "http_timeout",
            "command": "/incident",
        }
        bad = await post_signed(session, url, body, "wrong-secret")
        assert bad.status == 401
        stale = await post_signed(session, url, body, SECRET, timestamp=int(time.time()) - 600)
        assert stale.status == 401


# -- metadata, history, holds (what exactly-once delivery relies on) ------------------------

META = {"event_type": "vigil_outbox", "event_payload": {"outbox_id": 7, "step": "thread"}}


async def test_metadata_comes_back_from_history_and_replies_only_when_asked(
    slack: SlackStandin, client: AsyncWebClient
) -> None:
    cid = slack.add_channel("incidents")
    parent = await client.chat_postMessage(channel="#incidents", text="card", metadata=META)
    assert parent["message"]["metadata"] == META
    await client.chat_postMessage(channel=cid, thread_ts=parent["ts"], text="r1", metadata=META)
    plain = await client.conversations_history(channel=cid)
    assert [m["text"] for m in plain["messages"]] == ["card"]  # replies stay in their thread
    assert "metadata" not in plain["messages"][0]
    assert plain["messages"][0]["reply_count"] == 1
    full = await client.conversations_history(channel=cid, include_all_metadata=True)
    assert full["messages"][0]["metadata"] == META
    thread = await client.conversations_replies(
        channel=cid, ts=parent["ts"], include_all_metadata=True
    )
    assert [(m["text"], m["metadata"]["event_payload"]["step"]) for m in thread["messages"]] == [
        ("card", "thread"),
        ("r1", "thread"),
    ]
    with pytest.raises(SlackApiError) as bad:
        await client.chat_postMessage(
            channel=cid, text="x", metadata={"event_type": "no spaces", "event_payload": {}}
        )
    assert bad.value.response["error"] == "invalid_metadata_format"


async def test_history_pages_newest_first_by_cursor_and_wants_ids(
    slack: SlackStandin, client: AsyncWebClient
) -> None:
    cid = slack.add_channel("incidents")
    for n in range(5):
        await client.chat_postMessage(channel=cid, text=f"m{n}")
    seen: list[str] = []
    cursor = None
    while True:
        page = await client.conversations_history(channel=cid, limit=2, cursor=cursor)
        seen += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] is bool(cursor)
        if not cursor:
            break
    assert seen == ["m4", "m3", "m2", "m1", "m0"]
    with pytest.raises(SlackApiError) as by_name:
        await client.conversations_history(channel="#incidents")
    assert by_name.value.response["error"] == "channel_not_found"
    listed = await client.conversations_list(types="public_channel,private_channel")
    assert [(c["id"], c["name"]) for c in listed["channels"]] == [(cid, "incidents")]


async def test_reading_history_needs_the_history_scope() -> None:
    async with SlackStandin(scopes="chat:write,channels:read") as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.url, retry_handlers=[])
        cid = slack.add_channel("incidents")
        with pytest.raises(SlackApiError) as refused:
            await client.conversations_history(channel=cid)
        assert refused.value.response["error"] == "missing_scope"
        assert refused.value.response["needed"] == "channels:history"


async def test_a_held_call_is_done_at_slack_before_it_is_answered(
    slack: SlackStandin, client: AsyncWebClient
) -> None:
    cid = slack.add_channel("incidents")
    hold = slack.hold("chat.postMessage", when=lambda args: args.get("text") == "held")
    free = await client.chat_postMessage(channel=cid, text="free")  # not the one held
    posting = asyncio.create_task(client.chat_postMessage(channel=cid, text="held"))
    await asyncio.wait_for(hold.accepted.wait(), 5)
    assert [m.text for m in slack.messages(cid)] == ["free", "held"]  # Slack has it …
    assert not posting.done()  # … the caller does not know yet
    hold.release()
    assert (await posting)["ts"] > free["ts"]
