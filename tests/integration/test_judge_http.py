"""The canary judge over HTTP in the shapes Flagger's webhook and Argo Rollouts' web metric
provider read: Argo gets 200 and a verdict to match (``{$.verdict}``), Flagger 200 to go and
412 to halt; a PASS-only gate holds a canary the judge is not sure of, a ``fail-only`` gate
lets "no data yet" through and halts a FAIL. Bad input is a 400 naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config.load import SourcesSettings
from bot.monitoring.settings import QualitySettings
from bot.quality.windows import WindowSpec
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.integration.test_model_quality import MODEL, serve
from tests.integration.test_rollout_flow import QUICK, ready, traffic
from tests.support import FakeClock

ARGO = f"/api/v1/judge/{MODEL}"
FLAGGER = "/api/v1/judge/flagger"


@pytest.fixture
def config() -> dict[str, Any]:
    return {
        "sources": SourcesSettings(system=False),
        "quality": QualitySettings(window=WindowSpec(rows=5_000)),
        "rollout": QUICK,
    }


def hook(**meta: str) -> dict[str, Any]:
    return {"name": MODEL, "namespace": "ml", "phase": "Progressing", "metadata": meta}


async def answer(vigil: Vigil, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    async with serve(vigil) as client:
        resp = await client.request(method, path, **kw)
        return resp.status, await resp.json()


async def test_argo_reads_the_verdict_and_flagger_goes_on_pass_only(
    make_vigil: MakeVigil,
    config: dict[str, Any],
    clock: FakeClock,
) -> None:
    vigil = await ready(make_vigil, config, clock)
    # No rows yet: inconclusive; a PASS-only gate halts, a fail-only one lets it through.
    status, body = await answer(vigil, "GET", ARGO, params={"canary": "v8"})
    assert (status, body["verdict"], body["pass"], body["baseline"]) == (
        200,
        "inconclusive",
        False,
        "v7",
    )
    status, body = await answer(vigil, "POST", FLAGGER, json=hook(canary="v8"))
    assert (status, body["verdict"]) == (412, "inconclusive")
    status, _ = await answer(vigil, "POST", FLAGGER, json=hook(canary="v8", gate="fail-only"))
    assert status == 200

    await traffic(vigil, canary_shifted=False, seed=11)
    status, body = await answer(vigil, "GET", ARGO, params={"canary": "v8", "baseline": "v7"})
    assert (status, body["verdict"], body["score"]) == (200, "pass", 100)
    assert {m["metric"] for m in body["metrics"]} >= {"accuracy"}
    status, body = await answer(vigil, "POST", FLAGGER, json=hook(canary="v8"))
    assert (status, body["verdict"]) == (200, "pass")


async def test_a_failing_canary_halts_flagger_even_on_a_fail_only_gate(
    make_vigil: MakeVigil,
    config: dict[str, Any],
    clock: FakeClock,
) -> None:
    vigil = await ready(make_vigil, config, clock)
    await traffic(vigil, canary_shifted=True, seed=13)
    status, body = await answer(vigil, "POST", FLAGGER, json=hook(canary="v8", gate="fail-only"))
    assert (status, body["verdict"]) == (412, "fail")
    assert body["metrics"][0]["reason"].startswith("accuracy 0.")
    status, body = await answer(vigil, "GET", ARGO, params={"canary": "v8"})
    assert (status, body["verdict"]) == (200, "fail")


async def test_bad_input_is_a_400_naming_the_field(
    make_vigil: MakeVigil,
    config: dict[str, Any],
    clock: FakeClock,
) -> None:
    vigil = await ready(make_vigil, config, clock)
    status, body = await answer(vigil, "GET", ARGO)
    assert (status, body["field"]) == (400, "canary")
    status, body = await answer(vigil, "GET", ARGO, params={"canary": "v8", "since": "yesterday"})
    assert (status, body["field"]) == (400, "since")
    status, body = await answer(vigil, "POST", FLAGGER, json=hook())
    assert (status, body["field"]) == (400, "metadata.canary")
    status, body = await answer(vigil, "POST", FLAGGER, json=hook(canary="v8", gate="maybe"))
    assert (status, body["field"]) == (400, "metadata.gate")
    status, body = await answer(vigil, "POST", FLAGGER, json=[1])
    assert (status, body["field"]) == (400, "body")
    status, body = await answer(vigil, "GET", "/api/v1/judge/nope", params={"canary": "v8"})
    assert status in (400, 404)
