"""Shadow mode over real HTTP: a shadow version's outputs beside the live ones, by id.

A shadow post (``"shadow": true`` and its version) changes nothing of what serves: the
model's window, drift, estimate, realized accuracy and versions read the same as without
it. ``GET /api/v1/models/{model}/shadow?version=V`` gives agreement, the score distance,
latency, accuracy on labelled pairs, the segments where the versions differ most and a
verdict: NOT_YET with too few pairs, READY when they agree, DISAGREES (with why) when not.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config.load import Settings, SourcesSettings
from bot.core.secret import Secret
from bot.monitoring.settings import QualitySettings
from bot.quality.windows import WindowSpec
from tests.conftest import MakeVigil
from tests.integration.procs import BIN, clean_env
from tests.integration.test_model_quality import (
    LABELS,
    MODEL,
    PREDICTIONS,
    Json,
    post,
    quality,
    rows,
    serve,
    store_reference,
)
from tests.support import FakeClock

SHADOW = f"/api/v1/models/{MODEL}/shadow"


@pytest.fixture
def config(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings,
        sources=SourcesSettings(system=False),
        quality=QualitySettings(window=WindowSpec(rows=1_000)),
    )


def shadowed(
    live: list[Json], *, flip_channel: str | None = None, latency: float = 22.0
) -> list[Json]:
    """The shadow's outputs for the live rows: the same class, except on ``flip_channel``."""
    out = []
    for r in live:
        flip = r["features"]["channel"] == flip_channel
        predicted = ("ok" if r["prediction"] == "fraud" else "fraud") if flip else r["prediction"]
        out.append(
            {
                "id": r["id"],
                "prediction": predicted,
                "confidence": r["confidence"],
                "latency_ms": latency,
            }
        )
    return out


def timed(live: list[Json], latency: float) -> list[Json]:
    return [{**r, "latency_ms": latency} for r in live]


async def shadow_of(client: Any, version: str, status: int = 200) -> Json:
    resp = await client.get(SHADOW, params={"version": version})
    body: Json = await resp.json()
    assert resp.status == status, body
    return body


async def test_shadow_posts_leave_the_live_figures_unchanged(
    make_vigil: MakeVigil, config: Settings, clock: FakeClock
) -> None:
    vigil = await make_vigil(sources=config.sources, quality=config.quality)
    await store_reference(vigil, clock)
    live, truths = rows(300, shifted=False, seed=11)
    async with serve(vigil) as client:
        await post(client, PREDICTIONS, {"rows": timed(live, 20.0)})
        before = await quality(client)
        # A shadow whose inputs and outputs look nothing like the live ones.
        shifted, _ = rows(300, shifted=True, seed=12)
        wild = [
            {**s, "id": r["id"], "prediction": "fraud", "latency_ms": 90.0}
            for r, s in zip(live, shifted, strict=True)
        ]
        answer = await post(client, PREDICTIONS, {"shadow": True, "version": "v8", "rows": wild})
        assert (answer["shadow"], answer["accepted"], answer["version"]) == (True, 300, "v8")
        after = await quality(client)
        assert after == before
        # Labels join the live rows as before, and the shadow's pairs too.
        labelled = await post(client, LABELS, {"rows": truths})
        assert labelled["matched"] == 300
        realized = (await quality(client))["accuracy"]["realized"]
        assert realized["n"] == 300
        assert [v["version"] for v in (await quality(client))["versions"]] == ["unknown"]


async def test_the_comparison_and_its_verdicts(
    make_vigil: MakeVigil, config: Settings, clock: FakeClock
) -> None:
    vigil = await make_vigil(sources=config.sources, quality=config.quality)
    await store_reference(vigil, clock)
    async with serve(vigil) as client:
        await shadow_of(client, "v8", status=404)
        # Too few pairs: not yet. The shadow posts first, the live rows a minute later.
        first, _ = rows(50, shifted=False, seed=21)
        answer = await post(
            client, PREDICTIONS, {"shadow": True, "version": "v8", "rows": shadowed(first)}
        )
        assert (answer["paired"], answer["waiting"]) == (0, 50)
        clock.advance(minutes=1)
        await post(client, PREDICTIONS, {"rows": timed(first, 20.0)})
        early = await shadow_of(client, "v8")
        assert early["verdict"] == "not_yet"
        assert early["pairs"] == 50
        assert early["reasons"] == ["only 50 pairs so far, 200 needed for a verdict"]

        # Enough identical outputs: ready to canary.
        live, truths = rows(1_000, shifted=False, seed=22, start=50)
        await post(client, PREDICTIONS, {"rows": timed(live, 20.0)})
        answer = await post(
            client, PREDICTIONS, {"shadow": True, "version": "v8", "rows": shadowed(live)}
        )
        assert answer["paired"] == 1_000
        await post(client, LABELS, {"rows": truths})
        ready = await shadow_of(client, "v8")
        assert ready["verdict"] == "ready"
        assert ready["pairs"] == 1_050
        assert ready["agreement"] == 1.0
        assert ready["distance"]["prediction_psi"] == pytest.approx(0.0)
        assert ready["latency_ms"]["live"]["p99"] == 20.0
        assert ready["latency_ms"]["shadow"]["p50"] == 22.0
        assert ready["accuracy"]["labelled_pairs"] == 1_000
        assert ready["accuracy"]["live"] == ready["accuracy"]["shadow"]
        assert ready["segments"] == []

        # A second shadow that flips every "pos" row: it disagrees, and says where.
        await post(
            client,
            PREDICTIONS,
            {"shadow": True, "version": "v9", "rows": shadowed(live, flip_channel="pos")},
        )
        worse = await shadow_of(client, "v9")
        assert worse["verdict"] == "disagrees"
        pos = sum(r["features"]["channel"] == "pos" for r in live)
        assert worse["agreement"] == pytest.approx(1 - pos / 1_000)
        assert any("proven above the 5.0% allowed" in r for r in worse["reasons"])
        assert worse["segments"] == [
            {"feature": "channel", "value": "pos", "pairs": pos, "disagreements": pos, "rate": 1.0}
        ]
        # A shadow row whose live row never comes is unmatched after the hour.
        await post(
            client,
            PREDICTIONS,
            {"shadow": True, "version": "v9", "rows": [{"id": "lost", "prediction": "ok"}]},
        )
        clock.advance(minutes=61)
        assert (await shadow_of(client, "v9"))["unmatched"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"shadow": True, "rows": [{"id": "a", "prediction": "ok"}]}, "version"),
        ({"shadow": "yes", "version": "v8", "rows": [{"id": "a", "prediction": "ok"}]}, "shadow"),
        (
            {
                "shadow": True,
                "version": "v8",
                "rows": [{"id": "a", "prediction": "ok", "version": "v1"}],
            },
            "rows[0].version",
        ),
        (
            {"shadow": True, "version": "v8", "importances": {}, "rows": [{"id": "a"}]},
            "importances",
        ),
    ],
)
async def test_a_bad_shadow_post_is_a_400_naming_the_field(
    make_vigil: MakeVigil, config: Settings, clock: FakeClock, body: Json, field: str
) -> None:
    vigil = await make_vigil(quality=config.quality)
    await store_reference(vigil, clock)
    async with serve(vigil) as client:
        answer = await post(client, PREDICTIONS, body, status=400)
        assert answer["field"] == field
        await shadow_of(client, "v8", status=404)


async def test_the_shadow_read_takes_the_api_token_and_names_a_bad_version(
    make_vigil: MakeVigil, config: Settings, clock: FakeClock
) -> None:
    vigil = await make_vigil(quality=config.quality, api_token=Secret("api-t0ken"))
    await store_reference(vigil, clock)
    async with serve(vigil) as client:
        resp = await client.get(SHADOW, params={"version": "v8"})
        assert resp.status == 401
        auth = {"Authorization": "Bearer api-t0ken"}
        for params, field in (({}, "version"), ({"version": "no such/version!"}, "version")):
            resp = await client.get(SHADOW, params=params, headers=auth)
            assert resp.status == 400
            assert (await resp.json())["field"] == field
        resp = await client.get(SHADOW, params={"version": "v8"}, headers=auth)
        assert resp.status == 404
        assert (await resp.json())["field"] == "version"


async def test_vigil_model_shadow_asks_the_running_server_with_the_api_token(
    make_vigil: MakeVigil, config: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    vigil = await make_vigil(quality=config.quality, api_token=Secret("api-t0ken"))
    await store_reference(vigil, clock)
    server = TestServer(vigil.web_app(), host="127.0.0.1")
    async with TestClient(server) as client:
        live, _ = rows(1_000, shifted=False, seed=31)
        await post(client, PREDICTIONS, {"shadow": True, "version": "v8", "rows": shadowed(live)})
        await post(client, PREDICTIONS, {"rows": timed(live, 20.0)})  # pairs on arrival
        url = f"http://127.0.0.1:{server.port}"

        async def vigil_shadow(version: str, token: str) -> tuple[int, str, str]:
            proc = await asyncio.create_subprocess_exec(
                str(BIN / "vigil"),
                "model",
                "shadow",
                MODEL,
                version,
                "--url",
                url,
                cwd=tmp_path,
                env=clean_env(
                    VIGIL_API_TOKEN=token,
                    VIGIL_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'v.db'}",
                ),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
            return proc.returncode or 0, out.decode(), err.decode()

        code, out, err = await vigil_shadow("v8", "api-t0ken")
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0] == f"Shadow v8 of {MODEL}: READY to canary"
        assert "Pairs 1,000 (unmatched 0, waiting 0); agreement 100.0%" in lines
        assert any(
            line.startswith("Latency p50/p99: shadow 22/22 ms, live 20/20 ms") for line in lines
        )
        code, out, err = await vigil_shadow("v9", "api-t0ken")
        assert code == 1
        assert "404" in err
        assert "no shadow rows of version 'v9'" in err
        code, _, err = await vigil_shadow("v8", "wrong")
        assert (code, "401" in err) == (1, True)
