"""What a responder sees in Slack when Alertmanager sends a group of alerts to a real
``vigil serve`` (SQLite, the real clock, Slack's Web API played by the stand-in): the
incident's card, one thread line naming how many alerts fired and which instances, and the
page as a DM of its own. Then the group clears: one line saying so and what to do next."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from tests.integration.procs import BIN, clean_env, free_port, running
from tests.slack_signing import DEFAULT_CHANNEL_ID, DEFAULT_CHANNEL_NAME, DEFAULT_USER_ID
from tests.slack_standin import SlackStandin

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
"""


def group(status: str) -> dict[str, Any]:
    """One Alertmanager v4 post: ten instances of one service down (critical, so P1)."""
    common = {"alertname": "ServiceDown", "service": "payments", "severity": "critical"}
    alerts = [
        {
            "status": status,
            "labels": {**common, "instance": f"web-{n}:9100"},
            "annotations": {"summary": "payments is down"},
            "startsAt": "2026-12-05T02:00:00Z",
            "endsAt": "2026-12-05T02:10:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        }
        for n in range(1, 11)
    ]
    return {
        "version": "4",
        "groupKey": '{}:{service="payments"}',
        "status": status,
        "receiver": "vigil",
        "groupLabels": {"service": "payments"},
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example",
        "alerts": alerts,
    }


async def test_a_group_of_ten_alerts_is_one_thread_line_and_one_dm(tmp_path: Path) -> None:
    (tmp_path / "vigil.yaml").write_text(CONFIG)
    async with SlackStandin() as slack:
        slack.add_channel(DEFAULT_CHANNEL_NAME, channel_id=DEFAULT_CHANNEL_ID)
        slack.add_user(DEFAULT_USER_ID, "oncall")
        env = clean_env(
            VIGIL_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}",
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET="acceptance-signing-secret",
            SLACK_API_URL=slack.url,
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        argv = [str(BIN / "vigil"), "serve", "--port", str(port)]
        async with (
            running("vigil", argv, log_path=tmp_path / "vigil.log", cwd=tmp_path, env=env) as bot,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        ):
            await bot.wait_http(f"{base}/healthz", within=60)
            async with http.post(f"{base}/alerts/alertmanager", json=group("firing")) as resp:
                assert resp.status == 200, await resp.text()

            def thread() -> list[str]:
                return [m.text for m in slack.messages(DEFAULT_CHANNEL_ID) if m.thread_ts]

            firing = await slack.wait_for(
                lambda: [t for t in thread() if "Firing: 10 alerts" in t], timeout=30
            )
            assert len(firing) == 1, thread()
            assert (
                "payments is down (instance: web-1:9100, web-2:9100, web-3:9100 and 7 more)"
                in (firing[0])
            )
            dms = await slack.wait_for(
                lambda: [
                    c
                    for c in slack.calls_to("chat.postMessage")
                    if c.ok and str(c.args.get("channel", "")).startswith("D")
                ],
                timeout=30,
            )
            [dm] = dms
            assert "#1" in str(dm.args["text"]), dm.args

            async with http.post(f"{base}/alerts/alertmanager", json=group("resolved")) as resp:
                assert resp.status == 200, await resp.text()
            cleared = await slack.wait_for(
                lambda: [t for t in thread() if "Alerts cleared: 10 alerts" in t], timeout=30
            )
            assert "Every alert of #1 has cleared" in cleared[0]
            assert "it resolves by itself at " in cleared[0]  # after the quiet period
