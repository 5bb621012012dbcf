"""Two ``vigil serve`` replicas behind a load balancer compare a shadow version as one does.

Real processes, real PostgreSQL, real clock. Replicas A and B share one PostgreSQL
database; C, alone on the embedded SQLite, is given everything. Each batch's live rows go
to one replica and the shadow version's outputs for the same ids to the other (some
batches shadow first, some live first, some both at once); labels go to either, one batch
of them to both, and one batch of shadow rows is re-sent to the other replica. C gets all
of it, in order. Then ``GET /api/v1/models/{model}/shadow?version=v8`` answers the same on
A, B and C: pairs, waiting rows, duplicates, agreement, distance, latency, accuracy on the
labelled pairs, the segments where the versions differ, and the verdict. A is killed with
SIGKILL right after more acknowledged posts and B still counts them; B is killed too, and
a fresh process on their database answers exactly what C answers: nothing a post's answer
acknowledged was lost, and a restart keeps the pairs.
"""

from __future__ import annotations

import asyncio
import signal
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.acceptance.test_model_journey import MODEL, scored
from tests.acceptance.test_replicas_journey import three_servers

TOKEN = "shadow-replicas-token-7d2a"
BATCH = 150
BATCHES = 8
BUDGET = 180.0
Rows = list[dict[str, Any]]


def live_of(k: int) -> Rows:
    """Batch ``k`` of what serves, each row with its latency."""
    rows = scored(BATCH, shifted=False, seed=40 + k, start=k * BATCH)
    rng = np.random.default_rng(100 + k)
    return [{**r, "latency_ms": round(float(rng.gamma(4.0, 5.0)), 2)} for r in rows]


def shadow_of(live: Rows, k: int) -> Rows:
    """The shadow's outputs for the same ids: another class on 40 % of the "pos" rows,
    much slower, a little less sure."""
    rng = np.random.default_rng(200 + k)
    out = []
    for r in live:
        flip = r["features"]["channel"] == "pos" and rng.random() < 0.4
        predicted = ("ok" if r["prediction"] == "fraud" else "fraud") if flip else r["prediction"]
        out.append(
            {
                "id": r["id"],
                "prediction": predicted,
                "confidence": round(r["confidence"] * 0.97, 4),
                "latency_ms": round(float(rng.gamma(4.0, 8.0)), 2),
            }
        )
    return out


def labels_of(live: Rows) -> Rows:
    return [
        {"id": r["id"], "label": r["prediction"] if i % 5 else "other"} for i, r in enumerate(live)
    ]


@pytest.mark.postgres
async def test_two_replicas_compare_a_shadow_as_one_process_does_and_sigkill_loses_nothing(
    tmp_path: Path,
) -> None:
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(asyncio.timeout(BUDGET))
        start, shared, servers = await three_servers(tmp_path, stack, TOKEN)
        (a, http, base_a), (b, _, base_b), (_, _, base_c) = servers

        async def post(base: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
            async with http.post(f"{base}/api/v1/models/{MODEL}/{path}", json=body) as resp:
                answer: dict[str, Any] = await resp.json()
                assert resp.status == 200, answer
                return answer

        def live(rows: Rows) -> dict[str, Any]:
            return {"rows": rows}

        def shadow(rows: Rows) -> dict[str, Any]:
            return {"shadow": True, "version": "v8", "rows": rows}

        async def to_c(*steps: tuple[str, dict[str, Any]]) -> None:
            for path, body in steps:  # the lone process is given everything, in order
                await post(base_c, path, body)

        async def compared(base: str) -> dict[str, Any]:
            async with http.get(
                f"{base}/api/v1/models/{MODEL}/shadow", params={"version": "v8"}
            ) as resp:
                answer: dict[str, Any] = await resp.json()
                assert resp.status == 200, answer
                return answer

        for k in range(BATCHES):
            rows, outputs = live_of(k), shadow_of(live_of(k), k)
            serves, shadows = (base_a, base_b) if k % 2 else (base_b, base_a)
            if k % 3 == 0:  # the shadow first: its rows wait, the live rows pair them
                await post(shadows, "predictions", shadow(outputs))
                await post(serves, "predictions", live(rows))
            elif k % 3 == 1:  # the live rows first: remembered, the shadow pairs on arrival
                await post(serves, "predictions", live(rows))
                await post(shadows, "predictions", shadow(outputs))
            else:  # both at once, to two replicas: each id pairs once either way
                await asyncio.gather(
                    post(serves, "predictions", live(rows)),
                    post(shadows, "predictions", shadow(outputs)),
                )
            steps = [("predictions", live(rows)), ("predictions", shadow(outputs))]
            await to_c(*(steps if k % 3 == 1 else steps[::-1]))
        # A re-sent batch of shadow rows, to the replica that did not take it: duplicates.
        again = shadow(shadow_of(live_of(3), 3))
        answer = await post(base_b, "predictions", again)
        assert answer["duplicates"] == BATCH
        await to_c(("predictions", again))
        # Shadow rows whose live rows have not come: waiting, on every replica.
        strays = shadow([{"id": f"stray{i}", "prediction": "ok"} for i in range(7)])
        await post(base_a, "predictions", strays)
        await to_c(("predictions", strays))
        # Labels to either replica; one batch to both (it counts once).
        for k in range(BATCHES):
            labels = {"rows": labels_of(live_of(k))}
            await post(base_a if k % 2 else base_b, "labels", labels)
            await to_c(("labels", labels))
        twice = {"rows": labels_of(live_of(0))}
        await asyncio.gather(post(base_a, "labels", twice), post(base_b, "labels", twice))
        await to_c(("labels", twice))

        one = await compared(base_c)
        assert one["pairs"] == BATCHES * BATCH
        assert (one["waiting"], one["unmatched"], one["duplicates"]) == (7, 0, BATCH)
        assert one["accuracy"]["labelled_pairs"] == BATCHES * BATCH
        assert one["verdict"] == "disagrees"
        assert one["segments"][0]["value"] == "pos"
        assert one["latency_ms"]["pairs"] == BATCHES * BATCH
        assert await compared(base_a) == one
        assert await compared(base_b) == one

        # More acknowledged pairs (shadow to A, live to B), then A dies without a flush.
        rows = live_of(BATCHES)
        outputs = shadow_of(rows, BATCHES)
        await post(base_a, "predictions", shadow(outputs))
        await post(base_b, "predictions", live(rows))
        await to_c(("predictions", shadow(outputs)), ("predictions", live(rows)))
        more = {"rows": labels_of(rows)}
        await post(base_a, "labels", more)
        await to_c(("labels", more))
        await a.stop(signal.SIGKILL)
        one = await compared(base_c)
        assert one["pairs"] == (BATCHES + 1) * BATCH
        assert one["accuracy"]["labelled_pairs"] == (BATCHES + 1) * BATCH
        assert await compared(base_b) == one

        # B dies the same way; a new process on their database answers what C answers.
        await b.stop(signal.SIGKILL)
        (_, _, base_d) = await start("d", shared)
        assert await compared(base_d) == one
