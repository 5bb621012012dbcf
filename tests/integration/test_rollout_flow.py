"""Progressive rollouts driven by the judge, end to end on both databases: predictions and
labels of two versions posted through the real HTTP API, the look timers run on the fake
clock. A canary as good as stable steps up and is promoted; one 26 points worse is failed at
its first share, put back to 0 %, and an incident with the judge's reasons is opened; a
rollout survives a restart of Vigil; a second rollout of one model is refused.
"""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType
from typing import Any

import pytest

from bot.chat.backend import RecordingBackend
from bot.chat.slack.settings import SlackSettings
from bot.config.load import Settings, SourcesSettings
from bot.core.secret import Secret
from bot.monitoring.settings import QualitySettings
from bot.quality.windows import WindowSpec
from bot.registry.base import RegistryError
from bot.rollout.settings import RolloutSettings
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.integration.test_model_quality import (
    LABELS,
    MODEL,
    PREDICTIONS,
    post,
    rows,
    serve,
    store_reference,
)
from tests.integration.test_model_versions import tagged
from tests.slack_standin import SlackStandin
from tests.support import FakeClock

EVERY = timedelta(minutes=10)
# Quick verdicts on a few hundred rows: generous allowances, small minimum samples.
QUICK = RolloutSettings(
    steps=(5, 50, 100),
    every=EVERY,
    judge=MappingProxyType({"min_rows": 50, "min_labels": 30, "accuracy_allowance": 0.10}),
)


@pytest.fixture
def config(settings: Settings) -> dict[str, Any]:
    return {
        "sources": SourcesSettings(system=False),
        "quality": QualitySettings(window=WindowSpec(rows=5_000)),
        "rollout": QUICK,
    }


async def ready(make_vigil: MakeVigil, config: dict[str, Any], clock: FakeClock) -> Vigil:
    vigil = await make_vigil(**config)
    await store_reference(vigil, clock)
    await vigil.registry.register(MODEL, "v7", stage="stable", actor="@ci")
    await vigil.registry.register(MODEL, "v8", actor="@ci")
    return vigil


async def traffic(vigil: Vigil, *, canary_shifted: bool, seed: int, n: int = 600) -> None:
    """``n`` rows of stable and of the canary, with their labels, through the HTTP API."""
    stable, stable_truths = rows(n, shifted=False, seed=seed, start=seed * 10_000)
    canary, canary_truths = rows(
        n, shifted=canary_shifted, seed=seed + 1, start=seed * 10_000 + 5_000
    )
    async with serve(vigil) as client:
        body = {"rows": tagged(stable, "v7") + tagged(canary, "v8")}
        assert (await post(client, PREDICTIONS, body))["accepted"] == 2 * n
        assert (await post(client, LABELS, {"rows": stable_truths + canary_truths}))[
            "matched"
        ] == 2 * n


async def stages(vigil: Vigil) -> dict[str, tuple[str, int]]:
    return {v.version: (v.stage, v.traffic_percent) for v in await vigil.registry.versions(MODEL)}


async def look(vigil: Vigil, clock: FakeClock) -> None:
    clock.advance(seconds=EVERY.total_seconds())
    await vigil.timers.run_due()


async def test_a_good_canary_steps_up_on_pass_and_is_promoted_after_the_last_step(
    make_vigil: MakeVigil, config: dict[str, Any], clock: FakeClock
) -> None:
    vigil = await ready(make_vigil, config, clock)
    chat = RecordingBackend()
    vigil.attach(chat)
    started = await vigil.rollouts.start(MODEL, "v8", actor="@maya")
    assert (started.percent, started.baseline) == (5, "v7")
    assert await stages(vigil) == {"v7": ("stable", 95), "v8": ("canary", 5)}
    await vigil.timers.run_due()  # the start line is a timer: a CLI start is posted by the bot
    ((key, top, line),) = chat.progress_lines
    assert key == f"rollout:{started.id}"
    assert line.startswith("fraud-scorer v8 canary started by @maya at 5 % against v7 (5 → 50 %")
    assert top.startswith("🚦 fraud-scorer v8 canary at 5 % (step 1 of 2): last look no look yet")

    # No rows yet: the judge says INCONCLUSIVE, the rollout holds (and says so once).
    await look(vigil, clock)
    assert await stages(vigil) == {"v7": ("stable", 95), "v8": ("canary", 5)}
    assert "INCONCLUSIVE" in chat.progress_lines[-1][2]
    assert "holding" in chat.progress_lines[-1][2]
    said = len(chat.progress_lines)
    await look(vigil, clock)
    assert len(chat.progress_lines) == said  # the same verdict again is not news

    await traffic(vigil, canary_shifted=False, seed=1)
    await look(vigil, clock)
    assert await stages(vigil) == {"v7": ("stable", 50), "v8": ("canary", 50)}
    line = chat.progress_lines[-1][2]
    assert line.startswith("fraud-scorer v8 canary at 5 %: PASS (score 100) — stepped up to 50 %")

    # The judge reads everything since the start: the rows posted at 5 % still count.
    await look(vigil, clock)
    assert (await vigil.registry.stable(MODEL)).version == "v8"  # type: ignore[union-attr]
    assert "promoted v8 to stable; v7 stays deployable" in chat.progress_lines[-1][2]
    assert chat.progress_lines[-1][1].startswith("✅ fraud-scorer v8 promoted to stable")
    report = await vigil.rollouts.status(MODEL)
    assert report is not None
    assert report.rollout.state == "promoted"
    assert [(x.percent, x.verdict, x.action) for x in report.looks] == [
        (5, "inconclusive", "hold"),
        (5, "inconclusive", "hold"),
        (5, "pass", "step-up"),
        (50, "pass", "promote"),
    ]
    assert not [p for p in await vigil.timers.pending() if p.kind == "rollout-look"]


async def test_a_bad_canary_is_rolled_back_and_an_incident_opened_with_the_evidence(
    make_vigil: MakeVigil, config: dict[str, Any], clock: FakeClock
) -> None:
    vigil = await ready(make_vigil, config, clock)
    chat = RecordingBackend()
    vigil.attach(chat)
    await vigil.rollouts.start(MODEL, "v8", actor="@maya")
    await traffic(vigil, canary_shifted=True, seed=3)
    await look(vigil, clock)

    assert await stages(vigil) == {"v7": ("stable", 100), "v8": ("shadow", 0)}
    report = await vigil.rollouts.status(MODEL)
    assert report is not None
    assert (report.rollout.state, report.rollout.verdict) == ("failed", "fail")
    incident = await vigil.incidents.get(report.rollout.incident_id or 0)
    assert incident.severity == "P2"
    assert incident.title == "fraud-scorer v8 canary failed at 5 %: rolled back to v7"
    notes = [e.text for e in incident.timeline if e.kind == "note"]
    assert any("accuracy 0.68 vs 0.94" in n and "FAIL: roll back v8" in n for n in notes)
    line = chat.progress_lines[-1][2]
    assert line.startswith("fraud-scorer v8 canary FAILED at 5 %: accuracy 0.68 vs 0.94")
    assert line.endswith(f"→ rolled back to v7, incident #{incident.id} opened")
    assert chat.progress_lines[-1][1].startswith("❌ fraud-scorer v8 canary FAILED at 5 %")
    # The model is free again: a new rollout may start.
    assert (await vigil.rollouts.start(MODEL, "v8", actor="@maya")).state == "running"


async def test_rows_posted_in_the_minute_a_rollout_starts_count_as_evidence(
    make_vigil: MakeVigil, config: dict[str, Any], clock: FakeClock
) -> None:
    """Started at 10:00:30, the canary's rows of 10:00:30-10:00:59 are its first evidence;
    the ledger keeps minutes, and reading from the next whole minute dropped them."""
    vigil = await ready(make_vigil, config, clock)
    clock.advance(seconds=30)
    await vigil.rollouts.start(MODEL, "v8", actor="@maya")
    await traffic(vigil, canary_shifted=True, seed=5)
    await look(vigil, clock)

    report = await vigil.rollouts.status(MODEL)
    assert report is not None
    assert (report.rollout.state, report.rollout.verdict) == ("failed", "fail")


async def test_one_rollout_per_model_and_a_person_may_stop_it(
    make_vigil: MakeVigil, config: dict[str, Any], clock: FakeClock
) -> None:
    vigil = await ready(make_vigil, config, clock)
    await vigil.registry.register(MODEL, "v9", actor="@ci")
    await vigil.rollouts.start(MODEL, "v8", actor="@maya")
    with pytest.raises(RegistryError, match="a rollout of fraud-scorer is already running: v8"):
        await vigil.rollouts.start(MODEL, "v9", actor="@sam")
    stopped = await vigil.rollouts.abort(MODEL, actor="@maya")
    assert stopped.state == "aborted"
    assert await stages(vigil) == {"v7": ("stable", 100), "v8": ("shadow", 0), "v9": ("shadow", 0)}
    await look(vigil, clock)  # no look after a stop
    report = await vigil.rollouts.status(MODEL)
    assert report is not None
    assert report.looks == ()


async def test_a_rollout_resumes_after_a_restart(
    make_vigil: MakeVigil, config: dict[str, Any], clock: FakeClock
) -> None:
    first = await ready(make_vigil, config, clock)
    await first.rollouts.start(MODEL, "v8", actor="@maya")
    await first.close()

    again = await make_vigil(**config)  # the same database, a new process's memory
    await traffic(again, canary_shifted=False, seed=5)
    await look(again, clock)
    assert await stages(again) == {"v7": ("stable", 50), "v8": ("canary", 50)}


async def test_on_slack_one_message_per_rollout_is_edited_and_each_step_is_a_thread_reply(
    make_vigil: MakeVigil, config: dict[str, Any], clock: FakeClock
) -> None:
    async with SlackStandin() as slack:
        channel = slack.add_channel("incidents")
        settings = SlackSettings(
            bot_token=Secret("xoxb-test"),
            signing_secret=Secret("8f742231b10e8888abcd99yyyzzz85a5"),
            api_url=slack.url,
            alerts_channel="#incidents",
            users=MappingProxyType({}),
        )
        vigil = await ready(make_vigil, {**config, "slack": settings}, clock)
        assert vigil.slack is not None
        await vigil.rollouts.start(MODEL, "v8", actor="@maya")
        await vigil.timers.run_due()
        await traffic(vigil, canary_shifted=False, seed=7)
        await look(vigil, clock)
        await look(vigil, clock)
        await vigil.slack.outbox.run_once(clock())

        top = [m for m in slack.messages(channel) if m.thread_ts in (None, m.ts)]
        assert len(top) == 1  # one message for the whole rollout, edited in place
        assert top[0].text.startswith("✅ fraud-scorer v8 promoted to stable")
        replies = [m.text for m in slack.thread(channel, top[0].ts)]
        assert [r.split(":")[0] for r in replies] == [
            "fraud-scorer v8 canary started by @maya at 5 % against v7 (5 → 50 % → promote; a "
            "look every 10 min); first look 02",
            "fraud-scorer v8 canary at 5 %",
            "fraud-scorer v8 canary at 50 %",
        ]
