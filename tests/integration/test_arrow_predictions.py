"""Predictions as an Arrow IPC stream, over real HTTP: counted as the same rows in JSON.

A model server holding its scores in Arrow posts them with ``Content-Type:
application/vnd.apache.arrow.stream``; the reply is the one the JSON post of the same rows
gets (the same rows accepted and rejected, by the same messages). A column of the wrong
type is one 400 naming it, and a body that is no Arrow stream a 400 naming the body.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from bot.quality.arrow_rows import ARROW_STREAM
from tests.conftest import MakeVigil
from tests.integration.test_model_quality import (
    PREDICTIONS,
    Settings,
    config,  # noqa: F401  # the fixture
    post,
    rows,
    serve,
    store_reference,
)
from tests.support import FakeClock

Json = dict[str, Any]


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
