"""Model versions in the monitor's data, over real HTTP: two versions' rows kept apart.

A canary (v2) whose inputs shifted and a stable version (v1) that did not post rows to the
same model: ``GET .../quality?version=`` shows each one's drift, label-free estimate and
realized accuracy apart, labels posted without a version count for the version of their
prediction, the model's own answer stays every row together with a line per version, and
``ModelQualityService.summaries`` gives the canary judge each version over a time range.
Rows that name no version belong to the registry's stable version, else ``unknown``; a bad
version is a 400 naming it, with nothing counted. The last test does it through a real
``vigil serve``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config.load import Settings, SourcesSettings
from bot.monitoring.settings import QualitySettings
from bot.quality.windows import WindowSpec
from tests.conftest import MakeVigil
from tests.integration.procs import BIN, clean_env, free_port, running, vigil_model
from tests.integration.test_model_quality import (
    LABELS,
    MODEL,
    PREDICTIONS,
    QUALITY,
    Json,
    post,
    quality,
    rows,
    serve,
    store_reference,
)
from tests.support import FIXTURES, FakeClock


@pytest.fixture
def config(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings,
        sources=SourcesSettings(system=False),
        quality=QualitySettings(window=WindowSpec(rows=1_000)),
    )


def tagged(scored: list[Json], version: str | None, latency: float | None = None) -> list[Json]:
    out = []
    for row in scored:
        row = dict(row)
        if version is not None:
            row["version"] = version
        if latency is not None:
            row["latency_ms"] = latency
        out.append(row)
    return out


async def test_two_versions_are_judged_apart_and_labels_follow_their_prediction(
    make_vigil: MakeVigil, config: Settings, clock: FakeClock
) -> None:
    vigil = await make_vigil(sources=config.sources, quality=config.quality)
    await store_reference(vigil, clock)
    started = clock()
    async with serve(vigil) as client:
        calm, calm_truths = rows(600, shifted=False, seed=2)
        shifted, shifted_truths = rows(400, shifted=True, seed=3, start=600)
        mixed = tagged(calm, "v1", latency=20.0) + tagged(shifted, "v2", latency=35.0)
        answer = await post(client, PREDICTIONS, {"rows": mixed})
        assert answer["accepted"] == 1_000

        stable = await quality_of(client, "v1")
        canary = await quality_of(client, "v2")
        assert (stable["version"], canary["version"]) == ("v1", "v2")
        assert (stable["window"]["rows"], canary["window"]["rows"]) == (600, 400)
        assert stable["drift"]["psi"] < 0.1
        assert canary["drift"]["psi"] > 1
        assert canary["drift"]["features"][0]["feature"] == "income"
        assert stable["accuracy"]["estimated"]["value"] == pytest.approx(0.94, abs=0.01)
        assert canary["accuracy"]["estimated"]["value"] == pytest.approx(0.71, abs=0.01)

        # Labels name no version: each joins its prediction and counts for its version.
        labelled = await post(client, LABELS, {"rows": calm_truths + shifted_truths})
        assert labelled["matched"] == 1_000
        stable_realized = (await quality_of(client, "v1"))["accuracy"]["realized"]
        canary_realized = (await quality_of(client, "v2"))["accuracy"]["realized"]
        assert (stable_realized["n"], canary_realized["n"]) == (600, 400)
        assert stable_realized["accuracy"] == pytest.approx(0.94, abs=0.04)
        assert canary_realized["accuracy"] == pytest.approx(0.71, abs=0.06)

        # The model's own answer: every row together, as before, and a line per version.
        whole = await quality(client)
        assert whole["version"] == "v7"  # the reference's version, as it always was
        assert whole["window"]["rows"] == 1_000
        assert whole["accuracy"]["realized"]["n"] == 1_000
        lines = {line["version"]: line for line in whole["versions"]}
        assert set(lines) == {"v1", "v2"}
        assert lines["v2"]["rows"] == 400
        assert lines["v2"]["drift_psi"] == canary["drift"]["psi"]
        assert lines["v1"]["accuracy_realized"]["n"] == 600

    # What the canary judge reads: each version over a time range.
    summaries = await vigil.models.summaries(MODEL, since=started)
    v1, v2 = summaries["v1"], summaries["v2"]
    assert (v1.rows, v2.rows) == (600, 400)
    assert (v1.labelled, v2.labelled) == (600, 400)
    assert v1.correct == round(stable_realized["accuracy"] * 600)
    assert v2.accuracy == pytest.approx(canary_realized["accuracy"])
    assert v2.estimate is not None
    assert v2.estimate.value == pytest.approx(canary["accuracy"]["estimated"]["value"])
    assert v2.estimate.std_error == pytest.approx(canary["accuracy"]["estimated"]["std_error"])
    assert (set(v1.latency_ms), set(v2.latency_ms)) == ({20.0}, {35.0})
    assert v1.prediction_counts.sum() + v1.prediction_missing == 600
    assert v1.confidence_counts.sum() == 600
    # A range that ends before the rows arrived holds none of them.
    before = await vigil.models.summaries(MODEL, until=started - timedelta(minutes=1))
    assert (before["v1"].rows, before["v1"].labelled) == (0, 0)


async def quality_of(client: Any, version: str) -> Json:
    resp = await client.get(QUALITY, params={"version": version})
    body: Json = await resp.json()
    assert resp.status == 200, body
    return body


async def test_rows_without_a_version_belong_to_the_registry_stable_version_else_unknown(
    make_vigil: MakeVigil, config: Settings, clock: FakeClock
) -> None:
    vigil = await make_vigil(sources=config.sources, quality=config.quality)
    await store_reference(vigil, clock)
    async with serve(vigil) as client:
        first, _ = rows(10, shifted=False, seed=4)
        await post(client, PREDICTIONS, {"rows": first})
        assert [v["version"] for v in (await quality(client))["versions"]] == ["unknown"]

        await vigil.registry.register(MODEL, "v3", stage="stable", actor="test")
        clock.advance(seconds=6)  # the service reads the registry again after a few seconds
        later, _ = rows(20, shifted=False, seed=5, start=10)
        await post(client, PREDICTIONS, {"rows": later})
        # A post may name the version of all its rows; a row's own version wins.
        named, _ = rows(5, shifted=False, seed=6, start=30)
        named[0]["version"] = "v5"
        await post(client, PREDICTIONS, {"rows": named, "version": "v4"})
        lines = {v["version"]: v["rows"] for v in (await quality(client))["versions"]}
        assert lines == {"unknown": 10, "v3": 20, "v4": 4, "v5": 1}


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"rows": [{"id": "a", "version": 1.5}]}, "rows[0].version", "must be a string"),
        ({"rows": [{"id": "a", "version": "v" * 65}]}, "rows[0].version", "at most 64"),
        ({"rows": [{"id": "a", "version": "v 2"}]}, "rows[0].version", "letters, digits"),
        ({"rows": [{"id": "a"}], "version": ["v2"]}, "version", "must be a string"),
        ({"rows": [{"id": "a", "latency_ms": -3}]}, "rows[0].latency_ms", "from 0 to"),
        ({"rows": [{"id": "a", "latency_ms": "fast"}]}, "rows[0].latency_ms", "not string"),
    ],
)
async def test_a_bad_version_or_latency_is_a_400_naming_it_and_counts_nothing(
    make_vigil: MakeVigil,
    config: Settings,
    clock: FakeClock,
    body: Json,
    field: str,
    says: str,
) -> None:
    vigil = await make_vigil(quality=config.quality)
    await store_reference(vigil, clock)
    good, _ = rows(3, shifted=False, seed=7)
    body = {**body, "rows": [*good, {**good[0], **body["rows"][0], "id": "bad"}]}
    field = field.replace("rows[0]", "rows[3]")
    async with serve(vigil) as client:
        answer = await post(client, PREDICTIONS, body, status=400)
        assert answer["field"] == field
        assert says in answer["message"]
        whole = await quality(client)
        assert whole["window"]["received"] == 0
        assert whole["versions"] == []


async def test_quality_of_a_version_refuses_a_bad_name_and_names_the_versions_seen(
    make_vigil: MakeVigil, config: Settings, clock: FakeClock
) -> None:
    vigil = await make_vigil(quality=config.quality)
    await store_reference(vigil, clock)
    async with serve(vigil) as client:
        calm, _ = rows(5, shifted=False, seed=8)
        await post(client, PREDICTIONS, {"rows": tagged(calm, "v1")})
        resp = await client.get(QUALITY, params={"version": "no such/version!"})
        assert resp.status == 400
        assert (await resp.json())["field"] == "version"
        resp = await client.get(QUALITY, params={"version": "v9"})
        assert resp.status == 404
        answer = await resp.json()
        assert answer["field"] == "version"
        assert "versions seen: v1" in answer["message"]


async def test_a_real_vigil_serve_keeps_two_versions_apart(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}"
    for args in (
        ("reference", MODEL, str(FIXTURES / "reference-fraud-scorer.csv"), "--version", "v1"),
        ("register", MODEL, "v1", "--stage", "stable"),
    ):
        done = await asyncio.to_thread(vigil_model, db, *args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [str(BIN / "vigil"), "serve", "--port", str(port)]
    env = clean_env(VIGIL_DATABASE_URL=db)

    def row(i: int, version: str | None) -> Json:
        features = {"amount": 40.0 + i, "account_age_days": 900, "hour": 12}
        scored: Json = {
            "id": f"{version}-{i}",
            "features": {**features, "merchant_category": "grocery"},
            "prediction": i % 2,
            "confidence": 0.9,
        }
        return scored if version is None else {**scored, "version": version}

    stable = [row(i, None) for i in range(120)]  # no version: the registry's stable v1
    canary = [row(i, "v2") for i in range(60)]
    truths = [{"id": r["id"], "label": 0} for r in stable + canary]
    async with (
        asyncio.timeout(60),
        running("serve", argv, log_path=tmp_path / "serve.log", cwd=tmp_path, env=env) as child,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
    ):
        await child.wait_http(f"{base}/healthz")
        for path, body in ((PREDICTIONS, stable + canary), (LABELS, truths)):
            async with http.post(f"{base}{path}", json={"rows": body}) as resp:
                assert resp.status == 200, await resp.text()
        answers = {}
        for version in ("v1", "v2"):
            async with http.get(f"{base}{QUALITY}", params={"version": version}) as resp:
                assert resp.status == 200, await resp.text()
                answers[version] = await resp.json()
    assert answers["v1"]["window"]["rows"] == 120
    assert answers["v2"]["window"]["rows"] == 60
    # Every label is class 0 and every other prediction is 1: half right in each version.
    for version, n in (("v1", 120), ("v2", 60)):
        realized = answers[version]["accuracy"]["realized"]
        assert (realized["n"], realized["accuracy"]) == (n, 0.5)
