"""A worse canary is caught and rolled back by the running product: ``vigil serve`` with a
``rollout:`` section that looks every second, the stable and canary versions registered and
the rollout started with the CLI (``vigil model canary``) while the server runs, both
versions' predictions and labels posted over HTTP a batch a second, as live traffic comes
(the canary's accuracy about 0.71, the stable's about 0.94), and then, without anyone
acting: the canary back at 0 % in the registry, a P2 opened with the judge's reasons, and
``vigil model rollout`` showing the rollout as failed with its looks.

The product runs as a process on the real clock; the short interval and the judge's values
come from ``vigil.yaml``, never from patched code. Every wait is a bounded poll.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.acceptance.test_model_journey import MODEL, write_reference
from tests.integration.procs import Child, clean_env, serving, until, vigil_model
from tests.integration.test_model_quality import rows
from tests.integration.test_model_versions import tagged

BUDGET = 120.0
TOKEN = "rollout-journey-token-93d1"
BATCH = 100  # rows per version a second: a 23-point drop is proven within a few batches


async def cli(db_url: str, tmp_path: Path, *args: str) -> str:
    """``vigil model ARGS`` in a thread (the event loop keeps serving), its stdout; exit 0."""
    done = await asyncio.to_thread(vigil_model, db_url, *args, cwd=tmp_path)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


Model = Callable[..., Awaitable[str]]
"""``vigil model ARGS`` on the journey's database: :func:`cli` with its first two bound."""


async def prepare(model: Model, tmp_path: Path) -> None:
    """The reference, the stable v7 and the new v8 registered, and a ``vigil.yaml`` whose
    ``rollout:`` looks every second with the judge's values."""
    write_reference(tmp_path / "validation.csv")
    await model("reference", MODEL, str(tmp_path / "validation.csv"), "--version", "v7")
    await model("register", MODEL, "v7", "--stage", "stable")
    await model("register", MODEL, "v8")
    config = {
        "sources": {"interval": "1s", "system": False},
        "quality": {"window": {"rows": 5_000}},
        "timer_poll": "1s",
        "rollout": {
            "steps": [5, 50, 100],
            "every": "1s",
            "severity": "P2",
            "judge": {"min_rows": 50, "min_labels": 30, "accuracy_allowance": 0.10},
        },
    }
    (tmp_path / "vigil.yaml").write_text(yaml.safe_dump(config))


async def test_a_worse_canary_is_rolled_back_by_the_running_vigil_with_an_incident(
    tmp_path: Path,
) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}"
    model = partial(cli, db_url, tmp_path)
    await prepare(model, tmp_path)
    env = clean_env(VIGIL_DATABASE_URL=db_url, VIGIL_INGEST_TOKEN=TOKEN, VIGIL_API_TOKEN=TOKEN)
    async with (
        asyncio.timeout(BUDGET),
        serving(tmp_path, env, TOKEN) as (vigil, http, base),
    ):
        await journey(model, vigil, http, base)


async def journey(model: Model, vigil: Child, http: aiohttp.ClientSession, base: str) -> None:
    """With ``vigil serve`` running: the canary started with the CLI, both versions'
    traffic posted a batch a second until the incident opens, then what a user sees."""
    started = await model("canary", MODEL, "v8")
    assert started.startswith("🚦 fraud-scorer v8 canary at 5 % (step 1 of 2)"), started
    assert "  v8 · canary at 5 % · " in await model("list", MODEL)

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with http.post(f"{base}/api/v1/models/{MODEL}/{path}", json=body) as resp:
            answer: dict[str, Any] = await resp.json()
            assert resp.status == 200, answer
            return answer

    async def opened() -> dict[str, Any] | None:
        """The rollout's incident. (The canary's rows are drawn shifted, so the model's
        input drift may open an incident of its own first: the drift detector sees them.)"""
        async with http.get(f"{base}/api/v1/incidents") as resp:
            assert resp.status == 200, await resp.text()
            listed = (await resp.json())["incidents"]
        return next((i for i in listed if i["model"] == MODEL and "canary" in i["title"]), None)

    batch = iter(range(1, 1_000))

    async def traffic_until_opened() -> dict[str, Any] | None:
        """One batch of both versions' rows and labels, as live traffic would bring, then
        the incident if there is one. The evidence reaches the judge by the minute (in a
        split serve once its minute has closed and been stored): traffic keeps flowing
        until the verdict, as it does in production."""
        n = next(batch)
        stable, stable_truths = rows(BATCH, shifted=False, seed=2 * n, start=n * 10_000)
        canary, canary_truths = rows(BATCH, shifted=True, seed=2 * n + 1, start=n * 10_000 + 5_000)
        sent = await post("predictions", {"rows": tagged(stable, "v7") + tagged(canary, "v8")})
        assert sent["accepted"] == 2 * BATCH, sent
        matched = await post("labels", {"rows": stable_truths + canary_truths})
        assert matched["matched"] == 2 * BATCH, matched
        found = await opened()
        if found is None:
            await vigil.exited_within(1.0)  # a second of traffic; fails at once if it died
        return found

    incident = await until(vigil, traffic_until_opened)
    assert incident["severity"] == "P2"
    assert incident["title"] == "fraud-scorer v8 canary failed at 5 %: rolled back to v7"

    async def notes() -> list[str]:
        """The incident's notes: the judge's evidence is added just after it opens."""
        async with http.get(f"{base}/api/v1/incidents/{incident['id']}") as resp:
            timeline = (await resp.json())["timeline"]
        return [e["text"] for e in timeline if e["kind"] == "note"]

    [evidence] = await until(vigil, notes)
    assert evidence.startswith("The canary judge failed v8 against v7 at 5 %"), evidence
    assert "v8 is back at 0 %, v7 serves all traffic" in evidence
    assert "\nv8 vs v7: FAIL (score " in evidence, evidence  # the judge's reasons
    assert re.search(r"\n- accuracy 0\.7\d vs 0\.9\d on [\d,]+ labelled canary rows", evidence)
    assert "past the 10-point allowance" in evidence, evidence

    async def failed() -> str | None:
        shown = await model("rollout", MODEL)
        return shown if "FAILED" in shown else None

    shown = await until(vigil, failed)
    first = shown.splitlines()[0]
    assert first == (
        f"❌ fraud-scorer v8 canary FAILED at 5 % → rolled back to v7, incident #{incident['id']}"
    ), shown
    assert re.fullmatch(r"  \S+ \S+  at 5 %: FAIL \(score \d+\) → abort", shown.splitlines()[-1])
    versions = await model("list", MODEL)  # the canary at 0 %: v7 serves everything
    assert "  v7 · stable at 100 % · " in versions, versions
    assert "  v8 · shadow · " in versions, versions
