"""A model's accuracy slides without one error: ``vigil serve`` notices, pages, and lets go.

The journey a user follows from the README's model-quality section, with the product as a
process on the real clock: ``vigil model reference`` stores what the model was judged good
on; the model's rows arrive by ``POST /api/v1/models/M/predictions``; a covariate shift
takes its calibrated confidence from 0.94 to about 0.71, which opens one P2 naming the
model, the drift and the estimated accuracy, with both charts in the incident's Slack
thread. The responder snoozes it from Slack until the drift metric (by its README short
name, ``psi``) is back; healthy rows return, the snooze ends by itself, saying so, and the
incident resolves itself once nothing fires. Short ``for`` and polling intervals come from
``vigil.yaml`` and a rules file, never from patched code.
"""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import yaml

from tests.conftest import postgres_url
from tests.integration.procs import clean_env, serving, until, vigil_model
from tests.slack_signing import (
    DEFAULT_CHANNEL_ID,
    DEFAULT_CHANNEL_NAME,
    DEFAULT_USER_ID,
    post_signed,
    slash_command_body,
)
from tests.slack_standin import SlackStandin

BUDGET = 150.0
MODEL = "fraud-scorer"
TOKEN = "journey-ingest-token-5be2"
SIGNING = "journey-signing-secret"
QUALITY_RULES = [
    "confidence-below-floor",
    "input-drift-psi",
    "output-drift-kl",
    "accuracy-below-sla",
    "accuracy-estimated-below-sla",
    "data-quality-low",
]


def scored(n: int, *, shifted: bool, seed: int, start: int = 0) -> list[dict[str, Any]]:
    """Rows of a calibrated classifier: ``income`` moves from N(50, 10) to N(75, 10), where
    the model is unsure (mean confidence 0.94 → 0.71)."""
    rng = np.random.default_rng(seed)
    income = rng.normal(75.0 if shifted else 50.0, 10.0, n)
    age = rng.normal(40.0, 12.0, n)
    channel = rng.choice(["web", "app", "pos"], n, p=[0.5, 0.3, 0.2])
    confidence = np.clip(rng.normal(0.71 if shifted else 0.94, 0.03, n), 0.5, 0.999)
    prediction = rng.choice(["fraud", "ok"], n, p=[0.1, 0.9])
    return [
        {
            "id": f"r{start + i}",
            "features": {
                "income": round(float(income[i]), 3),
                "age": round(float(age[i]), 3),
                "channel": str(channel[i]),
            },
            "prediction": str(prediction[i]),
            "confidence": round(float(confidence[i]), 4),
        }
        for i in range(n)
    ]


def write_reference(path: Path) -> None:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "income", "age", "channel", "prediction", "confidence"])
        for r in scored(3_000, shifted=False, seed=1):
            feats = r["features"]
            out.writerow(
                [
                    r["id"],
                    feats["income"],
                    feats["age"],
                    feats["channel"],
                    r["prediction"],
                    r["confidence"],
                ]
            )


async def api(http: aiohttp.ClientSession, base: str, path: str) -> Any:
    async with http.get(f"{base}{path}") as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_a_quiet_accuracy_slide_is_one_p2_snoozed_until_drift_is_back(
    tmp_path: Path, database: str
) -> None:
    db_url = (
        await postgres_url()
        if database == "postgres"
        else f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}"
    )
    write_reference(tmp_path / "validation.csv")
    stored = vigil_model(
        db_url,
        "reference",
        MODEL,
        str(tmp_path / "validation.csv"),
        "--version",
        "v7",
        cwd=tmp_path,
    )
    assert stored.returncode == 0, stored.stderr

    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "fast.yaml").write_text(
        yaml.safe_dump({"rules": [{"name": n, "for": "2s"} for n in QUALITY_RULES]})
    )
    config = {
        "rules_dir": "rules",
        "models": {MODEL: {"accuracy_sla": 0.85, "confidence_floor": 0.80}},
        "quality": {"window": {"rows": 300}, "min_rows": 200},
        "sources": {"interval": "1s", "system": False},
        "escalation": {
            "severities": ["P1", "P2"],
            "levels": [{"notify": ["@oncall"], "wait": "1h"}],
        },
        "slack": {
            "alerts_channel": f"#{DEFAULT_CHANNEL_NAME}",
            "users": {"@oncall": DEFAULT_USER_ID},
        },
        # Longer than the snooze's `for 1s`: the snooze ends by itself first, then the
        # incident (both are measured from the same poll that saw the drift gone).
        "auto_resolve": "6s",
        "timer_poll": "1s",
    }
    (tmp_path / "vigil.yaml").write_text(yaml.safe_dump(config))

    async with SlackStandin() as slack:
        slack.add_channel(DEFAULT_CHANNEL_NAME, channel_id=DEFAULT_CHANNEL_ID)
        slack.add_user(DEFAULT_USER_ID, "oncall")
        env = clean_env(
            VIGIL_DATABASE_URL=db_url,
            VIGIL_INGEST_TOKEN=TOKEN,
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SIGNING,
            SLACK_API_URL=slack.url,
        )
        async with (
            asyncio.timeout(BUDGET),
            serving(tmp_path, env, TOKEN) as (vigil, http, base),
        ):

            async def send(rows: list[dict[str, Any]]) -> None:
                url = f"{base}/api/v1/models/{MODEL}/predictions"
                async with http.post(url, json={"rows": rows}) as resp:
                    assert resp.status == 200, await resp.text()

            await send(scored(300, shifted=False, seed=2))
            await send(scored(300, shifted=True, seed=3, start=300))

            async def p2() -> dict[str, Any] | None:
                listed = (await api(http, base, "/api/v1/incidents"))["incidents"]
                return next((i for i in listed if i["severity"] == "P2"), None)

            n = int((await until(vigil, p2))["id"])
            listed = (await api(http, base, "/api/v1/incidents"))["incidents"]
            assert [int(i["id"]) for i in listed] == [n], "one incident for one shift"

            async def timeline(kind: str) -> list[dict[str, Any]]:
                body = await api(http, base, f"/api/v1/incidents/{n}")
                return [e for e in body["timeline"] if e["kind"] == kind]

            charts = await until(vigil, lambda: _at_least(timeline("evidence"), 2))
            body = await api(http, base, f"/api/v1/incidents/{n}")
            # Titled by the story, not by whichever alert fired first.
            assert body["title"].startswith("Input drift PSI "), body["title"]
            assert f"on model {MODEL} with estimated accuracy 0.7" in body["title"]
            assert body["title"].endswith("below SLA 0.85"), body["title"]
            assert {c["data"]["chart"] for c in charts} == {"drift", "accuracy"}
            assert (
                charts[0]["data"]["feature"] == "income" or charts[1]["data"]["feature"] == "income"
            )
            fired = " ".join(e["text"] for e in await timeline("alert"))
            assert "top drift (PSI): income" in fired
            assert "too few labels yet to measure it" in fired
            [card] = await slack.wait_for(
                lambda: [m for m in slack.messages(DEFAULT_CHANNEL_ID) if not m.thread_ts], 30
            )
            assert card.text.startswith(f"🟠 P2 #{n} Input drift PSI "), card.text
            await slack.wait_for(lambda: len(slack.shared_files(DEFAULT_CHANNEL_ID)) >= 2, 30)
            assert all(f.thread_ts == card.ts for f in slack.shared_files(DEFAULT_CHANNEL_ID))

            def dms() -> list[Any]:
                return [
                    c
                    for c in slack.calls_to("chat.postMessage")
                    if str(c.args.get("channel", "")).startswith("D")
                ]

            assert len(await slack.wait_for(dms, 30)) == 1  # the page, once

            # Snoozed from Slack until the drift metric, by the README's short name.
            snooze = slash_command_body(
                text=f"snooze {n} until psi<0.1 for 1s", response_url=slack.response_url()
            )
            resp = await post_signed(http, f"{base}/slack/events", snooze, SIGNING)
            assert resp.status == 200
            [snoozed] = await until(vigil, lambda: timeline("snooze"))
            assert snoozed["text"].startswith(f"Snoozed #{n} until input_drift_psi<0.1 for 1 s")

            # The model's inputs come back: the snooze ends by itself, so does the incident.
            await send(scored(300, shifted=False, seed=4, start=600))
            ended = await until(vigil, lambda: _at_least(timeline("snooze"), 2))
            assert ended[1]["text"].startswith(
                f"input_drift_psi<0.1 for 1 s held: the snooze of #{n} is over"
            ), ended[1]["text"]
            [resolved] = await until(vigil, lambda: timeline("state"))
            assert resolved["text"].startswith("Resolved by vigil: every alert cleared at ")
            assert len(dms()) == 1, "paged again after the snooze ended by itself"


async def _at_least(items: Any, n: int) -> list[dict[str, Any]] | None:
    got: list[dict[str, Any]] = await items
    return got if len(got) >= n else None
