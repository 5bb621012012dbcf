"""Predictions as an Arrow IPC stream, over real HTTP: counted as the same rows in JSON.

A model server holding its scores in Arrow posts them with ``Content-Type:
application/vnd.apache.arrow.stream``; the reply is the one the JSON post of the same rows
gets (the same rows accepted and rejected, by the same messages). A column of the wrong
type is one 400 naming it, and a body that is no Arrow stream a 400 naming the body.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
from sqlalchemy import text

from bot.quality.arrow_body import ARROW_STREAM
from tests.conftest import MakeVigil
from tests.integration.test_model_quality import (
    PREDICTIONS,
    Settings,
    config,  # noqa: F401  # the fixture
    post,
    quality,
    rows,
    serve,
    store_reference,
)
from tests.support import FakeClock

Json = dict[str, Any]
LABELS = PREDICTIONS.replace("predictions", "labels")


def stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def as_table(scored: list[Json]) -> pa.Table:
    return pa.Table.from_pylist(scored)


async def test_an_arrow_post_is_counted_as_its_json_rows(
    make_vigil: MakeVigil,
    config: Settings,  # noqa: F811  # the fixture imported above
    clock: FakeClock,
) -> None:
    scored, _ = rows(200, shifted=False, seed=5)
    scored[3]["confidence"] = 1.5  # rejected, by the same message either way
    scored[7]["features"]["income"] = None  # accepted, missing
    twins = []
    for body_of in ("json", "arrow"):
        vigil = await make_vigil(quality=config.quality)
        await store_reference(vigil, clock)
        async with serve(vigil) as client:
            if body_of == "json":
                twins.append(await post(client, PREDICTIONS, {"rows": scored}))
                continue
            resp = await client.post(
                PREDICTIONS,
                data=stream(as_table(scored)),
                headers={"Content-Type": ARROW_STREAM},
            )
            twins.append(await resp.json())
            assert resp.status == 200, twins[-1]
    assert twins[0] == twins[1]
    assert "rows[3].confidence: must be between 0 and 1" in str(twins[1])


def odd(scored: list[Json]) -> list[Json]:
    """The rows with every kind of odd value a column can hold, row by row."""
    for i, row in enumerate(scored):
        row["timestamp"] = 1_780_000_000 + i + 0.25
        row["features"]["extra"] = i  # a feature the reference does not know
        row["version"] = "v2" if i % 7 == 0 else "v1"
        row["latency_ms"] = float(i)
    scored[1]["id"] = None  # rejected: no id
    scored[2]["id"] = "   "  # rejected: blank
    scored[3]["confidence"] = 1.5  # rejected: outside [0, 1]
    scored[4]["features"]["income"] = 1e300  # accepted, outside the range
    scored[5]["features"] = None  # rejected: no features
    scored[6]["timestamp"] = 1.78e12  # rejected: milliseconds
    scored[8]["confidence"] = None  # accepted, no confidence
    scored[9]["features"]["channel"] = "fax"  # accepted, a category never seen
    scored[10]["features"]["age"] = None  # accepted, missing
    scored[11]["features"]["channel"] = None  # accepted, missing
    scored[12]["prediction"] = None  # rejected: no prediction
    scored[13]["latency_ms"] = None  # no latency
    scored[14]["timestamp"] = None  # arrival time
    scored[15]["id"] = "r5"  # row 5's id (row 5 is rejected): this row's prediction awaits
    return scored


async def test_odd_values_get_the_same_verdicts_and_labels_join_the_same(
    make_vigil: MakeVigil,
    config: Settings,  # noqa: F811  # the fixture imported above
    clock: FakeClock,
) -> None:
    scored, truth = rows(120, shifted=False, seed=6)
    scored = odd(scored)
    labels = [{"id": f"r{i}", "label": str(t["label"])} for i, t in enumerate(truth)]
    twins = []
    for body_of in ("json", "arrow"):
        vigil = await make_vigil(quality=config.quality)
        await store_reference(vigil, clock)
        async with vigil.db.engine.begin() as conn:  # the first run's rows are stored
            for table in ("model_panes", "model_awaiting"):
                await conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (fixed names)
        async with serve(vigil) as client:
            if body_of == "json":
                reply = await post(client, PREDICTIONS, {"rows": scored})
            else:
                resp = await client.post(
                    PREDICTIONS,
                    data=stream(as_table(scored)),
                    headers={"Content-Type": ARROW_STREAM},
                )
                reply = await resp.json()
                assert resp.status == 200, reply
            joined = await post(client, LABELS, {"rows": labels})
            twins.append((reply, joined, await quality(client)))
    assert twins[0] == twins[1]
    reply, joined, _ = twins[1]
    shown = str(reply)
    for message in (
        "rows[1].id: is required",
        "rows[2].id: must be a non-empty string or an integer",
        "rows[3].confidence: must be between 0 and 1",
    ):
        assert message in shown, shown
    # rejected rows (1, 2, 3, 5, 6, 12) await no label; r5 is row 15's; no row is r15
    assert joined["matched"] == 114


async def test_a_wrong_typed_column_or_a_non_arrow_body_is_a_400_naming_it(
    make_vigil: MakeVigil,
    config: Settings,  # noqa: F811  # the fixture imported above
    clock: FakeClock,
) -> None:
    vigil = await make_vigil(quality=config.quality)
    await store_reference(vigil, clock)
    scored, _ = rows(5, shifted=False, seed=5)
    table = as_table(scored).set_column(
        3, "confidence", pa.array(["high"] * 5)
    )  # id, features, prediction, confidence
    async with serve(vigil) as client:
        for body, field in ((stream(table), "confidence"), (b"not arrow", "body")):
            resp = await client.post(PREDICTIONS, data=body, headers={"Content-Type": ARROW_STREAM})
            answer = await resp.json()
            assert resp.status == 400, answer
            assert answer["field"] == field, answer
            assert set(answer) == {"error", "field", "message"}
