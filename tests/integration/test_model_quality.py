"""Model quality end to end, over real HTTP, on both databases.

A reference profile is stored in the database; production rows arrive by
``POST /api/v1/models/{model}/predictions`` and labels later by ``.../labels``; the rule
runner, ticked by hand on the fake clock, judges the monitor's window. A covariate shift that
takes a calibrated model from 0.94 to about 0.71 opens an incident from drift and the
label-free estimate alone, before a single label arrives; ``GET .../quality`` shows the
estimate with its interval next to the realized accuracy once labels land.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config.load import Settings, SourcesSettings, load_settings
from bot.monitoring.settings import QualitySettings
from bot.monitoring.store import ReferenceStore
from bot.quality.profile import build_profile
from bot.quality.windows import WindowSpec
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.support import FakeClock

Client = TestClient[Any, Any]
Json = dict[str, Any]
MODEL = "fraud-scorer"
PREDICTIONS = f"/api/v1/models/{MODEL}/predictions"
LABELS = f"/api/v1/models/{MODEL}/labels"
QUALITY = f"/api/v1/models/{MODEL}/quality"


def rows(n: int, *, shifted: bool, seed: int, start: int = 0) -> tuple[list[Json], list[Json]]:
    """Scored rows of a calibrated classifier and their true labels.

    Unshifted, income ~ N(50, 10) and the model is confident (mean confidence 0.94); shifted,
    income moves to N(75, 10), where the model is unsure (about 0.71). A row is right with
    probability equal to its confidence, so accuracy follows confidence.
    """
    rng = np.random.default_rng(seed)
    income = rng.normal(75.0 if shifted else 50.0, 10.0, n)
    age = rng.normal(40.0, 12.0, n)
    channel = rng.choice(["web", "app", "pos"], n, p=[0.5, 0.3, 0.2])
    confidence = np.clip(rng.normal(0.71 if shifted else 0.94, 0.03, n), 0.5, 0.999)
    prediction = rng.choice(["fraud", "ok"], n, p=[0.1, 0.9])
    right = rng.random(n) < confidence
    label = np.where(right, prediction, np.where(prediction == "ok", "fraud", "ok"))
    scored = [
        {
            "id": f"r{start + i}",
            "features": {
                "income": float(income[i]),
                "age": float(age[i]),
                "channel": str(channel[i]),
            },
            "prediction": str(prediction[i]),
            "confidence": float(confidence[i]),
        }
        for i in range(n)
    ]
    truths = [{"id": f"r{start + i}", "label": str(label[i])} for i in range(n)]
    return scored, truths


def reference_profile() -> Any:
    scored, _ = rows(5_000, shifted=False, seed=1)
    return build_profile(
        {k: [r["features"][k] for r in scored] for k in ("income", "age", "channel")},
        prediction=[r["prediction"] for r in scored],
        confidence=[r["confidence"] for r in scored],
    )


@pytest.fixture
def config(settings: Settings, tmp_path: Path) -> Settings:
    path = tmp_path / "vigil.yaml"
    path.write_text(f"models:\n  {MODEL}:\n    accuracy_sla: 0.90\n")
    loaded = load_settings(path, {"VIGIL_DATABASE_URL": settings.database_url})
    return dataclasses.replace(
        settings,
        incidents=loaded.incidents,
        sources=SourcesSettings(system=False),
        quality=QualitySettings(window=WindowSpec(rows=1_000)),
    )


async def store_reference(vigil: Vigil, clock: FakeClock, version: str = "v7") -> None:
    await ReferenceStore(vigil.db).save(
        MODEL, version, reference_profile(), source="reference.csv", actor="test", now=clock()
    )


@asynccontextmanager
async def serve(vigil: Vigil) -> AsyncIterator[Client]:
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as c:
        yield c


async def post(client: Client, path: str, body: object, status: int = 200) -> Json:
    resp = await client.post(path, json=body)
    answer: Json = await resp.json()
    assert resp.status == status, answer
    return answer


async def quality(client: Client) -> Json:
    resp = await client.get(QUALITY)
    body: Json = await resp.json()
    assert resp.status == 200, body
    return body


async def open_incidents(client: Client) -> list[Json]:
    resp = await client.get("/api/v1/incidents")
    found: list[Json] = (await resp.json())["incidents"]
    return found


async def minutes(vigil: Vigil, clock: FakeClock, n: int) -> None:
    """Let ``n`` minutes pass with one rule tick a minute, as the model-quality group runs."""
    for _ in range(n):
        clock.advance(minutes=1)
        await vigil.rules_runner.tick(clock())


async def test_a_shift_opens_a_p2_from_drift_and_the_estimate_before_any_label(
    make_vigil: MakeVigil, config: Settings, clock: FakeClock
) -> None:
    vigil = await make_vigil(
        incidents=config.incidents, sources=config.sources, quality=config.quality
    )
    await store_reference(vigil, clock)
    async with serve(vigil) as client:
        calm, _ = rows(1_000, shifted=False, seed=2)
        answer = await post(client, PREDICTIONS, {"rows": calm})
        assert (answer["accepted"], answer["rejected"]) == (1_000, 0)
        await minutes(vigil, clock, 12)
        assert await open_incidents(client) == []
        before = await quality(client)
        assert before["judged"]
        assert before["version"] == "v7"
        assert before["drift"]["psi"] < 0.1
        assert before["accuracy"]["estimated"]["value"] == pytest.approx(0.94, abs=0.01)

        shifted, truths = rows(1_000, shifted=True, seed=3, start=1_000)
        await post(client, PREDICTIONS, {"rows": shifted})
        await minutes(vigil, clock, 11)
        (incident,) = await open_incidents(client)
        assert incident["severity"] == "P2"
        reason = incident["severity_reason"]
        assert reason.startswith("P2: input drift PSI")
        assert "with estimated accuracy 0.7" in reason
        assert "below SLA 0.90" in reason
        # One incident for the shift: drift, the estimate and data quality joined it.
        names = {a["labels"]["alertname"] for a in incident["alerts"]}
        assert {"InputDrift", "ModelAccuracyEstimatedBelowSLA"} <= names
        # The evidence is attached: the top feature's histogram and accuracy over time.
        resp = await client.get(f"/api/v1/incidents/{incident['id']}")
        timeline = (await resp.json())["timeline"]
        charts = {e["data"]["chart"]: e for e in timeline if e["kind"] == "evidence"}
        assert set(charts) == {"drift", "accuracy"}
        png = await asyncio.to_thread(Path(charts["drift"]["data"]["path"]).read_bytes)
        assert png.startswith(b"\x89PNG")
        assert "income" in charts["drift"]["text"]
        after = await quality(client)
        top = after["drift"]["features"][0]
        assert top["feature"] == "income"
        assert top["psi"] > 1
        estimated = after["accuracy"]["estimated"]
        assert estimated["low"] < estimated["value"] < estimated["high"] < 0.90
        assert after["accuracy"]["realized"] is None  # no label yet: the estimate came first

        labelled = await post(client, LABELS, {"rows": truths})
        assert (labelled["matched"], labelled["unmatched"]) == (1_000, 0)
        realized = (await quality(client))["accuracy"]["realized"]
        assert realized["n"] == 1_000
        assert realized["accuracy"] == pytest.approx(estimated["value"], abs=0.04)


async def test_bad_rows_are_reported_by_field_and_the_good_ones_counted(
    make_vigil: MakeVigil, config: Settings, clock: FakeClock
) -> None:
    vigil = await make_vigil(quality=config.quality)
    await store_reference(vigil, clock)
    async with serve(vigil) as client:
        good, _ = rows(300, shifted=False, seed=4)
        bad = [
            {
                "id": "x1",
                "features": {"income": "lots", "age": 30, "channel": "web"},
                "prediction": "ok",
            },
            {"id": "x2", "features": {"age": 30, "channel": "web"}, "prediction": "ok"},
            "not a row",
        ]
        answer = await post(client, PREDICTIONS, {"rows": good + bad})
        assert answer["accepted"] == 301  # the row missing income is kept, flagged unclean
        assert answer["rejected"] == 2
        fields = {e["field"] for e in answer["errors"]}
        assert "rows[300].features.income" in fields
        assert any(f.startswith("rows[302]") for f in fields)
        assert answer["feature_issues"]["income"]["missing"] == 1
        assert answer["data_quality"] == pytest.approx(300 / 303)
        assert (await quality(client))["window"]["received"] == 303


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        (PREDICTIONS, {"rows": "many"}, 400, "rows"),
        (PREDICTIONS, {"rows": [{}], "extra": 1}, 400, "extra"),
        (PREDICTIONS, {"rows": []}, 400, "rows"),
        (PREDICTIONS, [1, 2], 400, "payload"),
        (LABELS, {"rows": [{"id": "r1"}]}, 400, "rows[0].label"),
        (LABELS, {"rows": [{"label": "ok"}]}, 400, "rows[0].id"),
        ("/api/v1/models/unknown-model/predictions", {"rows": []}, 404, "model"),
        ("/api/v1/models/unknown-model/labels", {"rows": []}, 404, "model"),
    ],
)
async def test_malformed_posts_are_refused_naming_the_field_and_count_nothing(
    make_vigil: MakeVigil,
    config: Settings,
    clock: FakeClock,
    path: str,
    body: object,
    status: int,
    field: str,
) -> None:
    vigil = await make_vigil(quality=config.quality)
    await store_reference(vigil, clock)
    async with serve(vigil) as client:
        answer = await post(client, path, body, status=status)
        assert answer["field"] == field
        if status == 404:
            assert "vigil model reference unknown-model" in answer["message"]
        window = (await quality(client))["window"]
        assert window["received"] == 0


async def test_not_json_is_a_400_and_unknown_model_quality_a_404(
    make_vigil: MakeVigil, config: Settings, clock: FakeClock
) -> None:
    vigil = await make_vigil(quality=config.quality)
    await store_reference(vigil, clock)
    async with serve(vigil) as client:
        resp = await client.post(PREDICTIONS, data=b"{not json")
        assert resp.status == 400
        assert (await resp.json())["field"] == "body"
        resp = await client.get("/api/v1/models/nope/quality")
        assert resp.status == 404
        assert "vigil model reference nope FILE" in (await resp.json())["message"]


async def test_references_survive_a_restart_and_a_new_one_is_picked_up_live(
    make_vigil: MakeVigil, config: Settings, clock: FakeClock
) -> None:
    first = await make_vigil(quality=config.quality)
    await store_reference(first, clock, version="v7")
    await first.close()
    vigil = await make_vigil(quality=config.quality)  # a restart: the reference is loaded
    assert vigil.models.monitor.models() == [MODEL]
    async with serve(vigil) as client:
        calm, _ = rows(400, shifted=False, seed=5)
        await post(client, PREDICTIONS, {"rows": calm})
        body = await quality(client)
        assert body["version"] == "v7"
        assert body["window"]["rows"] == 400
        # Another process stores a new reference; the next poll watches it, window empty.
        await store_reference(vigil, clock, version="v8")
        clock.advance(minutes=1)
        await vigil.rules_runner.tick(clock())
        body = await quality(client)
        assert body["version"] == "v8"
        assert body["window"]["rows"] == 0
        assert body["judged"] is False
        assert "200 rows" in body["needs"]


async def test_a_post_for_a_model_whose_reference_was_just_stored_is_accepted(
    make_vigil: MakeVigil, config: Settings, clock: FakeClock
) -> None:
    vigil = await make_vigil(quality=config.quality)
    async with serve(vigil) as client:
        await post(client, PREDICTIONS, {"rows": []}, status=404)
        await store_reference(vigil, clock)  # as `vigil model reference` from another shell
        calm, _ = rows(10, shifted=False, seed=6)
        assert (await post(client, PREDICTIONS, {"rows": calm}))["accepted"] == 10
