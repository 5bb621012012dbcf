"""Build inbound Slack requests exactly as Slack sends them, signed with the v0 scheme.

Slack cannot be reached from the tests, so slash commands, button clicks and modal submissions
are forged here byte for byte: the same form fields, the same ``payload`` JSON, the same
``X-Slack-Signature``. The bot's Bolt app then verifies them with its real signing secret, so a
test that passes proves the whole inbound path, signature check included.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp

TEAM_ID = "T0VIGIL01"
TEAM_DOMAIN = "vigil-test"
API_APP_ID = "A0VIGIL01"
VERIFICATION_TOKEN = "legacy-verification-token"
DEFAULT_USER_ID = "U0ONCALL1"
DEFAULT_USER_NAME = "oncall"
DEFAULT_CHANNEL_ID = "C0INCIDNT"
DEFAULT_CHANNEL_NAME = "incidents"
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"

_trigger_seq = itertools.count(1)


def new_trigger_id() -> str:
    """A fresh trigger id shaped like Slack's (``<digits>.<digits>.<hex>``), unique per call."""
    n = next(_trigger_seq)
    return f"{1_000_000_000 + n}.{7_000_000_000 + n}.{hashlib.sha1(str(n).encode()).hexdigest()}"  # noqa: S324


def sign(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The two headers Slack adds: the timestamp and ``v0=`` HMAC-SHA256 of ``v0:{ts}:{body}``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
    }


def slash_command_body(
    command: str = "/incident",
    text: str = "",
    *,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    response_url: str = "https://hooks.slack.com/commands/T0VIGIL01/1/unused",
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = API_APP_ID,
) -> bytes:
    """A slash-command POST body, form-encoded in the field order Slack uses."""
    fields = [
        ("token", VERIFICATION_TOKEN),
        ("team_id", team_id),
        ("team_domain", team_domain),
        ("channel_id", channel_id),
        ("channel_name", channel_name),
        ("user_id", user_id),
        ("user_name", user_name),
        ("command", command),
        ("text", text),
        ("api_app_id", api_app_id),
        ("is_enterprise_install", "false"),
        ("response_url", response_url),
        ("trigger_id", trigger_id or new_trigger_id()),
    ]
    return urlencode(fields).encode()


def _payload_body(payload: dict[str, Any]) -> bytes:
    """Interactivity requests carry one form field, ``payload``, holding compact JSON."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()


def _user(user_id: str, user_name: str, team_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id}


def block_action_body(
    action_id: str,
    value: str | None = None,
    user_id: str = DEFAULT_USER_ID,
    *,
    user_name: str = DEFAULT_USER_NAME,
    block_id: str = "actions",
    action_type: str = "button",
    button_text: str | None = None,
    selected_option: dict[str, Any] | None = None,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    message_ts: str = "1732500000.000100",
    message: dict[str, Any] | None = None,
    container: dict[str, Any] | None = None,
    response_url: str = "https://hooks.slack.com/actions/T0VIGIL01/1/unused",
    trigger_id: str | None = None,
    state_values: dict[str, Any] | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = API_APP_ID,
) -> bytes:
    """A ``block_actions`` request for a click on a message button (or a select's choice).

    ``message`` defaults to a minimal bot message at ``message_ts`` so handlers that read
    ``body["message"]`` (to rewrite the card) see what Slack would send them.
    """
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": action_type,
        "action_ts": f"{int(time.time())}.000001",
    }
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": button_text or action_id, "emoji": True}
    if value is not None:
        action["value"] = value
    if selected_option is not None:
        action["selected_option"] = selected_option
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": container
        or {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "message": message
        or {
            "type": "message",
            "user": "UBOT",
            "bot_id": "BBOT",
            "text": "",
            "ts": message_ts,
            "blocks": [],
        },
        "state": {"values": state_values or {}},
        "response_url": response_url,
        "actions": [action],
    }
    return _payload_body(payload)


def view_submission_body(
    callback_id: str,
    state_values: dict[str, Any],
    user_id: str = DEFAULT_USER_ID,
    private_metadata: str = "",
    *,
    user_name: str = DEFAULT_USER_NAME,
    view_id: str = "V0VIGIL01",
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = API_APP_ID,
) -> bytes:
    """A ``view_submission`` request: the modal's inputs under ``view.state.values``.

    ``state_values`` is ``{block_id: {action_id: {"type": ..., "value": ...}}}`` as Slack
    nests it.
    """
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state_values},
            "hash": "1732500000.abcdef12",
            "title": {"type": "plain_text", "text": "Vigil", "emoji": True},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": api_app_id,
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": "BBOT",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _payload_body(payload)


async def post_signed(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    secret: str,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
) -> aiohttp.ClientResponse:
    """POST ``body`` as Slack would, signed with ``secret``; the body is read before returning.

    ``timestamp`` defaults to now (Bolt rejects requests older than five minutes). The retry
    headers let a test replay a delivery the way Slack does after a slow ack.
    """
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": SLACK_USER_AGENT,
        **sign(secret, body, ts),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
    if retry_reason is not None:
        headers["X-Slack-Retry-Reason"] = retry_reason
    async with session.post(url, data=body, headers=headers) as resp:
        await resp.read()
    return resp
