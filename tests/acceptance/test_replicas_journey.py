"""Two ``vigil serve`` replicas behind a load balancer judge the whole of a model's traffic.

Real processes, real PostgreSQL, real clock. Replicas A and B share one PostgreSQL
database; C, alone on the embedded SQLite, is given every row. Predictions are split
between A and B (a batch each in turn) and each label is posted to the replica that did
NOT take its prediction (one batch goes as an Arrow stream, labels name their source); C
gets all of both as JSON. Then A, B and C answer the same quality reading: the rows, the
data-quality score, every feature's drift, the estimate, the realized accuracy and each
label source's agreement. A is killed with SIGKILL right after more acknowledged posts, and B
still counts every one of them; B is killed too, and a fresh process on their database
reads exactly what C reads: nothing a post's answer acknowledged was lost.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from bot.quality.arrow_body import ARROW_STREAM
from tests.acceptance.test_model_journey import MODEL, scored, write_reference
from tests.conftest import postgres_url
from tests.integration.procs import clean_env, serving, vigil_model
from tests.integration.test_arrow_predictions import as_table, stream

Server = tuple[Any, aiohttp.ClientSession, str]
TOKEN = "replicas-journey-token-5e1c"
BATCH = 120
BUDGET = 180.0


def place(tmp_path: Path, name: str) -> Path:
    """A working directory for one process, with the journey's ``vigil.yaml``."""
    where = tmp_path / name
    where.mkdir()
    config = {
        "models": {MODEL: {"accuracy_sla": 0.85}},
        # Larger than the traffic: every process's window holds every row it can see.
        "quality": {"window": {"rows": 5_000}, "min_rows": 200, "label_window": 5_000},
    }
    (where / "vigil.yaml").write_text(yaml.safe_dump(config))
    return where


async def three_servers(
    tmp_path: Path, stack: AsyncExitStack, token: str
) -> tuple[Callable[[str, str], Awaitable[Server]], str, list[Server]]:
    """The replicas journeys' start: the model's reference stored on a shared PostgreSQL
    database and on a lone SQLite one; replicas A and B on the first, C on the second,
    ready. Returns how to start another process (name, database URL), the shared URL, and
    the three servers."""
    shared, alone = await postgres_url(), f"sqlite+aiosqlite:///{tmp_path / 'alone.db'}"
    write_reference(tmp_path / "validation.csv")
    for url in (shared, alone):
        done = await asyncio.to_thread(
            vigil_model, url, "reference", MODEL, "validation.csv", "--version", "v7",
            cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr

    async def start(name: str, url: str) -> Server:
        env = clean_env(VIGIL_DATABASE_URL=url, VIGIL_INGEST_TOKEN=token, VIGIL_API_TOKEN=token)
        return await stack.enter_async_context(serving(place(tmp_path, name), env, token))

    started = await asyncio.gather(start("a", shared), start("b", shared), start("c", alone))
    return start, shared, list(started)


def figures(answer: dict[str, Any]) -> dict[str, Any]:
    """What a user reads of ``GET /quality``, without the moment it was read."""
    accuracy = answer["accuracy"]
    estimated = accuracy["estimated"] or {}
    realized = accuracy["realized"] or {}
    return {
        "rows": answer["window"]["rows"],
        "received": answer["window"]["received"],
        "rejected": answer["window"]["rejected"],
        "data_quality": round(answer["data_quality"], 9),
        "psi": {d["feature"]: round(d["psi"], 9) for d in answer["drift"]["features"]},
        "output_kl": round(answer["output_drift_kl"], 9),
        "estimated": round(estimated.get("value", -1.0), 9),
        "estimated_n": estimated.get("n"),
        "realized": (realized.get("accuracy"), realized.get("n")),
        "labels": answer["labels"]["labelled"],
        "sources": [
            (s["source"], s["labels"], round(s["agreement"], 9))
            for s in answer["labels"]["sources"]
        ],
    }


@pytest.mark.postgres
async def test_two_replicas_read_what_one_process_reads_and_sigkill_loses_nothing(
    tmp_path: Path,
) -> None:
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(asyncio.timeout(BUDGET))
        start, shared, servers = await three_servers(tmp_path, stack, TOKEN)
        (a, http, base_a), (b, _, base_b), (_, _, base_c) = servers

        async def post(
            base: str, path: str, rows: list[dict[str, Any]], *, arrow: bool = False
        ) -> dict[str, Any]:
            url = f"{base}/api/v1/models/{MODEL}/{path}"
            body: dict[str, Any] = {"json": {"rows": rows}}
            if arrow:  # the same rows as an Arrow IPC stream, as a model server may send them
                body = {"data": stream(as_table(rows)), "headers": {"Content-Type": ARROW_STREAM}}
            async with http.post(url, **body) as resp:
                answer: dict[str, Any] = await resp.json()
                assert resp.status == 200, answer
                return answer

        async def quality(base: str) -> dict[str, Any]:
            async with http.get(f"{base}/api/v1/models/{MODEL}/quality") as resp:
                answer: dict[str, Any] = await resp.json()
                assert resp.status == 200, answer
                return figures(answer)

        batches = [scored(BATCH, shifted=k >= 5, seed=10 + k, start=k * BATCH) for k in range(10)]
        taker = [base_a if k % 2 == 0 else base_b for k in range(10)]
        for k, rows in enumerate(batches):
            await asyncio.gather(
                post(taker[k], "predictions", rows), post(base_c, "predictions", rows)
            )
        # Each label to the replica that did not take its prediction: the join is shared.
        for k, rows in enumerate(batches):
            labels = [
                {
                    "id": r["id"],
                    "label": r["prediction"] if i % 4 else "other",
                    "source": "chargeback" if k % 2 else "human-review",
                }
                for i, r in enumerate(rows)
            ]
            other = base_b if taker[k] == base_a else base_a
            crossed, whole = await asyncio.gather(
                post(other, "labels", labels), post(base_c, "labels", labels)
            )
            assert crossed["matched"] == whole["matched"] == BATCH, crossed

        one = await quality(base_c)
        assert one["rows"] == 10 * BATCH
        assert one["realized"] == (pytest.approx(0.75), 10 * BATCH)
        assert [(s, n) for s, n, _ in one["sources"]] == [
            ("chargeback", 5 * BATCH),
            ("human-review", 5 * BATCH),
        ]
        assert max(one["psi"].values()) > 0.2  # the shift is in there
        assert await quality(base_a) == one
        assert await quality(base_b) == one

        # More acknowledged rows to A, then A dies without a chance to flush anything.
        more = scored(BATCH, shifted=True, seed=99, start=10 * BATCH)
        await asyncio.gather(post(base_a, "predictions", more), post(base_c, "predictions", more))
        await a.stop(signal.SIGKILL)
        one = await quality(base_c)
        assert one["rows"] == 11 * BATCH
        assert await quality(base_b) == one

        # B dies the same way; a new process on their database reads what C reads.
        await b.stop(signal.SIGKILL)
        (_, _, base_d) = await start("d", shared)
        assert await quality(base_d) == one
