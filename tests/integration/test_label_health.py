"""Label health end to end, over real HTTP, on both databases: predictions posted, then
labels from two sources ten minutes later, one honest and one copying the model's
predictions; ``GET .../quality`` shows the delay, the coverage and each source's agreement
beside the reference's, and the default rule opens an incident naming the copying source."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config.load import Settings, SourcesSettings, load_settings
from bot.monitoring.settings import QualitySettings
from bot.monitoring.store import ReferenceStore
from bot.quality.labels.reference import reference_labels
from bot.quality.windows import WindowSpec
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.integration.test_model_quality import LABELS, MODEL, PREDICTIONS, QUALITY, rows
from tests.integration.test_model_quality import reference_profile as unlabelled
from tests.support import FakeClock

Json = dict[str, Any]


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


async def store_labelled_reference(vigil: Vigil, clock: FakeClock) -> None:
    """The reference with its labels: 0.94 agreement, as the calibrated model's."""
    scored, truths = rows(5_000, shifted=False, seed=1)
    pairs = [(r["prediction"], t["label"], 1) for r, t in zip(scored, truths, strict=True)]
    profile = unlabelled()
    mean = profile.confidence.mean
    profile = replace(profile, labels=reference_labels(pairs, mean))
    assert profile.labels.agreement == pytest.approx(0.94, abs=0.01)
    await ReferenceStore(vigil.db).save(
        MODEL, "v7", profile, source="reference.csv", actor="test", now=clock()
    )


async def post(client: TestClient[Any, Any], path: str, body: object, status: int = 200) -> Json:
    resp = await client.post(path, json=body)
    answer: Json = await resp.json()
    assert resp.status == status, answer
    return answer


async def test_labels_copying_predictions_are_seen_per_source_and_alerted(
    make_vigil: MakeVigil, config: Settings, clock: FakeClock
) -> None:
    vigil = await make_vigil(
        incidents=config.incidents, sources=config.sources, quality=config.quality
    )
    await store_labelled_reference(vigil, clock)
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        scored, truths = rows(1_000, shifted=False, seed=2)
        await post(client, PREDICTIONS, {"rows": scored})
        clock.advance(minutes=10)
        honest = truths[:500]  # the post's source: human review
        copied = [
            {"id": r["id"], "label": r["prediction"], "source": "User-Feedback"}
            for r in scored[500:]
        ]
        answer = await post(client, LABELS, {"rows": honest, "source": "human-review"})
        assert answer["matched"] == 500
        assert (await post(client, LABELS, {"rows": copied}))["matched"] == 500
        bad = {"rows": [{"id": "r1", "label": "ok", "source": "no spaces please"}]}
        refused = await post(client, LABELS, bad, status=400)
        assert refused["field"] == "rows[0].source"

        resp = await client.get(QUALITY)
        labels = (await resp.json())["labels"]
        assert labels["labelled"] == 1_000
        assert 600 / 1.78 <= labels["delay_seconds"]["p50"] <= 600 * 1.78
        assert labels["coverage"] is None  # the minute is not yet past the p95 delay
        assert labels["reference"]["agreement"] == pytest.approx(0.94, abs=0.01)
        by = {s["source"]: s for s in labels["sources"]}
        assert set(by) == {"human-review", "user-feedback"}
        assert by["user-feedback"]["agreement"] == 1.0
        assert by["user-feedback"]["disagreement_ratio"] == 0.0
        assert by["user-feedback"]["says"].startswith(
            "labels may be copying predictions: agreement 1.00 from user-feedback (500 labels)"
        )
        assert 0.5 < by["human-review"]["disagreement_ratio"] < 1.6
        assert labels["estimate_trusted"] is True
        assert labels["drift"]["psi"] < 0.1

        for _ in range(32):  # the rule waits 30 minutes
            clock.advance(minutes=1)
            await vigil.rules_runner.tick(clock())
        resp = await client.get("/api/v1/incidents")
        alerts = [a for i in (await resp.json())["incidents"] for a in i["alerts"]]
        loop = [a for a in alerts if a["labels"]["alertname"] == "LabelFeedbackLoop"]
        assert [a["labels"]["label_source"] for a in loop] == ["user-feedback"]
        resp = await client.get(QUALITY)
        assert (await resp.json())["labels"]["coverage"]["share"] == 1.0  # labels now due
