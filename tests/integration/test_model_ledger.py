"""The canary judge's evidence (the panes, summed by minute) outlives the process: it
survives a restart, reaches a second process on the same database as soon as a post is
answered, is never counted twice when a closed minute's panes are folded into one, and
goes after ``quality.ledger_keep``. On SQLite and PostgreSQL; the last test stops a real
``vigil serve`` with SIGTERM and reads its evidence from a new process."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import func
from sqlmodel import select

from bot.config.load import SourcesSettings, load_settings
from bot.monitoring.settings import QualitySettings
from bot.monitoring.tables import PaneRow
from bot.quality.compare.ledger import VersionSummary
from bot.quality.windows import WindowSpec
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.integration.procs import BIN, clean_env, free_port, running, vigil_model
from tests.integration.test_model_quality import (
    LABELS,
    MODEL,
    PREDICTIONS,
    Json,
    post,
    rows,
    serve,
    store_reference,
)
from tests.integration.test_model_versions import tagged
from tests.support import FIXTURES, FakeClock
from tests.unit.test_ledger_drain import figures


def quality(keep: timedelta = timedelta(hours=24)) -> QualitySettings:
    return QualitySettings(window=WindowSpec(rows=1_000), ledger_keep=keep)


async def make(make_vigil: MakeVigil, keep: timedelta = timedelta(hours=24)) -> Vigil:
    return await make_vigil(sources=SourcesSettings(system=False), quality=quality(keep))


def all_figures(summaries: dict[str, VersionSummary]) -> dict[str, tuple[object, ...]]:
    return {name: figures(s) for name, s in summaries.items()}


async def stored_rows(vigil: Vigil) -> int:
    async with vigil.db.read() as s, s.begin():
        return (await s.exec(select(func.count()).select_from(PaneRow))).one()


async def test_a_restart_keeps_what_the_canary_judge_reads(
    make_vigil: MakeVigil, clock: FakeClock
) -> None:
    first = await make(make_vigil)
    await store_reference(first, clock)
    started = clock()
    calm, calm_truths = rows(300, shifted=False, seed=2)
    shifted, shifted_truths = rows(200, shifted=True, seed=3, start=300)
    async with serve(first) as client:
        await post(client, PREDICTIONS, {"rows": tagged(calm[:150], "v1", latency=20.0)})
        clock.advance(minutes=1)
        await post(client, PREDICTIONS, {"rows": tagged(shifted, "v2", latency=35.0)})
        await first.models.flush()  # the first minute, closed, is folded into one pane
        await post(client, LABELS, {"rows": calm_truths[:150] + shifted_truths})
        clock.advance(minutes=1)
        await post(client, PREDICTIONS, {"rows": tagged(calm[150:], "v1", latency=21.0)})
        await post(client, LABELS, {"rows": calm_truths[150:]})
    spans = [(started, None), (started + timedelta(minutes=1), None), (None, clock())]
    before = [all_figures(await first.models.summaries(MODEL, since=a, until=b)) for a, b in spans]
    assert (before[0]["v1"][0], before[0]["v2"][0]) == (300, 200)
    await first.close()

    again = await make(make_vigil)  # a restart: a new app on the same database
    after = [all_figures(await again.models.summaries(MODEL, since=a, until=b)) for a, b in spans]
    assert after == before
    whole = (await again.models.summaries(MODEL))["v1"]
    assert (whole.rows, whole.labelled, set(whole.latency_ms)) == (300, 300, {20.0, 21.0})


async def test_a_second_process_reads_the_first_ones_evidence_once_answered(
    make_vigil: MakeVigil, clock: FakeClock
) -> None:
    """As the worker of a split ``vigil serve`` reads what the HTTP process took."""
    http = await make(make_vigil)
    await store_reference(http, clock)
    worker = await make(make_vigil)
    calm, truths = rows(100, shifted=False, seed=4)
    async with serve(http) as client:
        await post(client, PREDICTIONS, {"rows": tagged(calm, "v2", latency=9.0)})
        await post(client, LABELS, {"rows": truths})
    seen = await worker.models.summaries(MODEL)  # stored before the posts were answered
    assert all_figures(seen) == all_figures(await http.models.summaries(MODEL))
    assert (seen["v2"].rows, seen["v2"].labelled, seen["v2"].latency_rows) == (100, 100, 100)


async def test_the_second_process_follows_a_reference_stored_after_it_read_the_first(
    make_vigil: MakeVigil, clock: FakeClock
) -> None:
    """A worker that judged against the first reference still reads the evidence the HTTP
    process stores under the new one (``vigil model reference`` while the serve runs);
    it read only the old reference's records and saw nothing from then on."""
    http = await make(make_vigil)
    await store_reference(http, clock)
    worker = await make(make_vigil)
    assert await worker.models.summaries(MODEL) == {}  # the worker holds the first reference
    clock.advance(minutes=1)
    await store_reference(http, clock, version="v8")  # a new reference, from the CLI
    await http.models.sync()  # the HTTP process's next rule poll
    calm, truths = rows(100, shifted=False, seed=5)
    async with serve(http) as client:
        await post(client, PREDICTIONS, {"rows": tagged(calm, "v8", latency=9.0)})
        await post(client, LABELS, {"rows": truths})
    seen = await worker.models.summaries(MODEL)
    assert (seen["v8"].rows, seen["v8"].labelled) == (100, 100)


async def test_folding_never_counts_a_minute_twice(make_vigil: MakeVigil, clock: FakeClock) -> None:
    vigil = await make(make_vigil)
    await store_reference(vigil, clock)
    batches = [rows(50, shifted=False, seed=10 + i, start=50 * i) for i in range(4)]
    posted = labelled = 0
    async with serve(vigil) as client:
        for i, (scored, truths) in enumerate(batches):
            await post(client, PREDICTIONS, {"rows": tagged(scored, "v1")})
            posted += 50
            await vigil.models.flush()  # folds the closed minutes only
            if i % 2:  # labels of this minute and the last, after their minutes were folded
                await post(client, LABELS, {"rows": batches[i - 1][1] + truths})
                labelled += 100
            s = (await vigil.models.summaries(MODEL))["v1"]
            assert (s.rows, s.labelled) == (posted, labelled)
            clock.advance(seconds=40)  # posts at 0:00, 0:40 | 1:20 | 2:00
        clock.advance(minutes=3)  # every minute is over
        await vigil.models.flush()
        s = (await vigil.models.summaries(MODEL))["v1"]
        assert (s.rows, s.labelled) == (200, 200)
    # Minute 0 (two posts), minute 1 (a post, then labels after it was folded), minute 2:
    # each folded into one pane, every row and label in it once.
    assert await stored_rows(vigil) == 3


async def test_minutes_past_the_retention_are_deleted(
    make_vigil: MakeVigil, clock: FakeClock
) -> None:
    vigil = await make(make_vigil, keep=timedelta(hours=1))
    await store_reference(vigil, clock)
    old, _ = rows(30, shifted=False, seed=20)
    new, _ = rows(20, shifted=False, seed=21, start=30)
    async with serve(vigil) as client:
        await post(client, PREDICTIONS, {"rows": tagged(old, "v1")})
        clock.advance(minutes=1)
        await vigil.models.flush()
        assert await stored_rows(vigil) == 1
        clock.advance(minutes=61)
        await post(client, PREDICTIONS, {"rows": tagged(new, "v1")})
        await vigil.models.flush()
    assert await stored_rows(vigil) == 1  # the new minute only
    assert (await vigil.models.summaries(MODEL))["v1"].rows == 20


async def test_a_real_vigil_serve_stopped_by_sigterm_keeps_its_evidence(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}"
    done = await asyncio.to_thread(
        vigil_model,
        db,
        "reference",
        MODEL,
        str(FIXTURES / "reference-fraud-scorer.csv"),
        "--version",
        "v1",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    port = free_port()
    argv = [str(BIN / "vigil"), "serve", "--port", str(port)]
    env = clean_env(VIGIL_DATABASE_URL=db)
    scored: list[Json] = [
        {
            "id": f"r{i}",
            "version": "v2",
            "latency_ms": 10.0 + i,
            "features": {
                "amount": 40.0 + i,
                "account_age_days": 900,
                "hour": 12,
                "merchant_category": "grocery",
            },
            "prediction": i % 2,
            "confidence": 0.9,
        }
        for i in range(80)
    ]
    async with (
        asyncio.timeout(60),
        running("serve", argv, log_path=tmp_path / "serve.log", cwd=tmp_path, env=env) as child,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
    ):
        await child.wait_http(f"http://127.0.0.1:{port}/healthz")
        async with http.post(
            f"http://127.0.0.1:{port}{PREDICTIONS}", json={"rows": scored}
        ) as resp:
            assert resp.status == 200, await resp.text()
        await child.stop_cleanly()  # SIGTERM: the open minute is stored at close
    settings = load_settings(None, {"VIGIL_DATABASE_URL": db})
    vigil = await Vigil.create(
        dataclasses.replace(settings, sources=SourcesSettings(system=False)), drive_timers=False
    )
    try:
        v2 = (await vigil.models.summaries(MODEL))["v2"]
    finally:
        await vigil.close()
    assert (v2.rows, v2.latency_rows) == (80, 80)
    assert sorted(v2.latency_ms) == [10.0 + i for i in range(80)]
