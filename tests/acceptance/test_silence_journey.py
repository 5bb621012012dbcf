"""A silence from Slack, end to end, on a real ``vigil serve`` (SQLite, the real clock, Slack's
Web API played by the stand-in):

a responder hushes payments for a few seconds before a migration (``/silence … --yes``) →
the channel is told → Alertmanager sends a critical payments alert → nobody is paged and no
incident opens, yet the API shows the alert, suppressed by that silence → the silence ends by
itself while the alert still fires → the page DM arrives and the incident is open. Then
``/silence`` without ``--yes`` shows, to the caller alone, which firing alert it would mute,
and creates nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from tests.integration.procs import BIN, clean_env, free_port, running
from tests.slack_signing import (
    DEFAULT_CHANNEL_ID,
    DEFAULT_CHANNEL_NAME,
    DEFAULT_USER_ID,
    block_action_body,
    post_signed,
    slash_command_body,
)
from tests.slack_standin import Response, SlackStandin

BUDGET = 40.0  # seconds for the whole journey, start-up included
SIGNING = "silence-journey-signing-secret"
CONFIG = f"""
escalation:
  severities: [P1]
  levels:
    - {{notify: ["@oncall"], wait: 1h}}
slack:
  alerts_channel: "#{DEFAULT_CHANNEL_NAME}"
  users: {{"@oncall": {DEFAULT_USER_ID}}}
sources:
  system: false
timer_poll: 1s
"""


def latency_alert() -> dict[str, Any]:
    """Alertmanager's webhook post: payments is slow (critical, so a P1 that pages)."""
    labels = {"alertname": "LatencyHigh", "service": "payments", "severity": "critical"}
    return {
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
                "annotations": {"summary": "payments p99 latency is 4 s"},
                "startsAt": "2026-12-05T02:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
            }
        ],
    }


async def test_silenced_from_slack_no_page_until_it_ends_while_firing(tmp_path: Path) -> None:
    (tmp_path / "vigil.yaml").write_text(CONFIG)
    async with SlackStandin() as slack:
        slack.add_channel(DEFAULT_CHANNEL_NAME, channel_id=DEFAULT_CHANNEL_ID)
        slack.add_user(DEFAULT_USER_ID, "oncall")
        env = clean_env(
            VIGIL_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}",
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SIGNING,
            SLACK_API_URL=slack.url,
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        argv = [str(BIN / "vigil"), "serve", "--port", str(port)]
        async with (
            asyncio.timeout(BUDGET),
            running("vigil", argv, log_path=tmp_path / "vigil.log", cwd=tmp_path, env=env) as bot,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        ):
            await bot.wait_http(f"{base}/healthz", within=30)

            async def api(path: str) -> Any:
                async with http.get(f"{base}{path}") as resp:
                    assert resp.status == 200, await resp.text()
                    return await resp.json()

            async def slash(text: str) -> Response:
                """``/silence TEXT`` from the responder; Vigil's answer at the response_url."""
                url = slack.response_url()
                body = slash_command_body("/silence", text, response_url=url)
                resp = await post_signed(http, f"{base}/slack/events", body, SIGNING)
                assert resp.status == 200
                [answer] = await slack.wait_for(lambda: slack.responses_to(url), timeout=15)
                return answer

            def dms() -> list[Any]:
                return [
                    c
                    for c in slack.calls_to("chat.postMessage")
                    if c.ok and str(c.args.get("channel", "")).startswith("D")
                ]

            # The responder hushes payments for the migration; the channel is told.
            said = await slash("service=payments 8s --yes -- db migration")
            assert said.response_type == "in_channel", said.body
            assert said.text.startswith(
                f'🔕 <@{DEFAULT_USER_ID}> silenced service="payments" for under a minute, until '
            ), said.text
            assert "Why: db migration." in said.text, said.text
            [silence] = await api("/api/v2/silences")
            assert silence["status"]["state"] == "active", silence
            assert silence["createdBy"] == f"<@{DEFAULT_USER_ID}>"

            # Alertmanager sends a critical payments alert: stored and shown, nobody paged.
            async with http.post(f"{base}/alerts/alertmanager", json=latency_alert()) as resp:
                got = await resp.json()
                assert resp.status == 200, got
            assert [r["action"] for r in got["results"]] == ["muted"], got
            assert (await api("/api/v1/incidents"))["incidents"] == []
            [alert] = await api("/api/v2/alerts")
            assert alert["status"]["state"] == "suppressed", alert
            assert alert["status"]["silencedBy"] == [silence["id"]]
            assert dms() == []
            assert (await api(f"/api/v2/silence/{silence['id']}"))["status"]["state"] == "active"

            # The silence ends by itself while the alert still fires: the page comes now.
            [dm] = await slack.wait_for(dms, timeout=30)
            [opened] = (await api("/api/v1/incidents"))["incidents"]
            assert opened["severity"] == "P1", opened
            assert opened["state"] == "triggered", opened
            assert f"#{opened['id']}" in str(dm.args["text"]), dm.args
            [notice] = await slack.wait_for(
                lambda: [
                    m.text
                    for m in slack.messages(DEFAULT_CHANNEL_ID)
                    if m.text.startswith(f"Silence {silence['id'][:8]} ")
                ],
                timeout=15,
            )
            assert "has ended and 1 alert(s) it held still fire" in notice, notice
            ended = await api(f"/api/v2/silence/{silence['id']}")
            assert ended["status"]["state"] == "expired", ended
            [alert] = await api("/api/v2/alerts")
            assert alert["status"]["state"] == "active", alert
            assert alert["vigil"]["incident"] == opened["id"]

            # A preview: only the caller sees which firing alert it would mute; nothing made.
            preview = await slash("service=payments 1h")
            assert preview.response_type == "ephemeral", preview.body
            assert preview.text.startswith(
                '🔕 Preview, nothing silenced yet: service="payments" for 1 h would mute '
                "1 firing alert(s):"
            ), preview.text
            assert f"(incident #{opened['id']})" in preview.text, preview.text
            assert "To create it: /silence service=payments 1h --yes" in preview.text
            [button] = [
                e for b in preview.body["blocks"] if b["type"] == "actions" for e in b["elements"]
            ]
            assert button["value"] == "/silence service=payments 1h --yes", button
            assert [s["id"] for s in await api("/api/v2/silences")] == [silence["id"]]
            assert len(dms()) == 1

            # The preview's button creates it, as if the responder had typed --yes.
            url = slack.response_url()
            click = block_action_body(
                button["action_id"], button["value"], block_id="vigil_confirm", response_url=url
            )
            resp = await post_signed(http, f"{base}/slack/events", click, SIGNING)
            assert resp.status == 200
            [made] = await slack.wait_for(lambda: slack.responses_to(url), timeout=15)
            assert made.response_type == "in_channel", made.body
            assert "1 firing alert(s) muted now" in made.text, made.text
            assert len(await api("/api/v2/silences")) == 2
