"""The canary judge over HTTP in the shapes Flagger's webhook and Argo Rollouts' web metric
provider read: Argo gets 200 and a verdict to match (``{$.verdict}``), Flagger 200 to go and
412 to halt; a PASS-only gate holds a canary the judge is not sure of, a ``fail-only`` gate
lets "no data yet" through and halts a FAIL, a ``rollback`` gate answers 200 only on FAIL.
Flagger's body is the one it really POSTs (``name``, ``namespace``, ``phase``,
``checksum``, ``metadata`` of strings) and, since Flagger sends no headers, the API token
rides in ``metadata.token``. Bad input is a 400 naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config.load import SourcesSettings
from bot.core.secret import Secret
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


TOKEN = "judge-api-token-5e1f"


def hook(**meta: str) -> dict[str, Any]:
    """The body Flagger POSTs to a webhook (docs.flagger.app/usage/webhooks)."""
    return {
        "name": MODEL,
        "namespace": "ml",
        "phase": "Progressing",
        "checksum": "7d9c5f8b6",
        "metadata": meta,
    }


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


async def test_flagger_sends_no_headers_so_its_token_is_in_the_metadata(
    make_vigil: MakeVigil,
    config: dict[str, Any],
    clock: FakeClock,
) -> None:
    vigil = await ready(make_vigil, {**config, "api_token": Secret(TOKEN)}, clock)
    status, body = await answer(vigil, "POST", FLAGGER, json=hook(canary="v8", token=TOKEN))
    assert (status, body["verdict"]) == (412, "inconclusive")  # judged: no rows yet
    assert TOKEN not in str(body)
    status, _ = await answer(vigil, "POST", FLAGGER, json=hook(canary="v8", token="wrong"))
    assert status == 401
    status, _ = await answer(vigil, "POST", FLAGGER, json=hook(canary="v8"))
    assert status == 401
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    status, _ = await answer(vigil, "POST", FLAGGER, json=hook(canary="v8"), headers=bearer)
    assert status == 412
    status, _ = await answer(vigil, "GET", ARGO, params={"canary": "v8"})
    assert status == 401  # Argo sends the headers it is given: the token goes there
    status, body = await answer(vigil, "GET", ARGO, params={"canary": "v8"}, headers=bearer)
    assert (status, body["verdict"]) == (200, "inconclusive")


async def test_a_rollback_gate_says_200_only_when_the_judge_fails_the_canary(
    make_vigil: MakeVigil,
    config: dict[str, Any],
    clock: FakeClock,
) -> None:
    vigil = await ready(make_vigil, config, clock)
    status, _ = await answer(vigil, "POST", FLAGGER, json=hook(canary="v8", gate="rollback"))
    assert status == 412  # not sure yet: no rollback
    await traffic(vigil, canary_shifted=True, seed=17)
    status, body = await answer(vigil, "POST", FLAGGER, json=hook(canary="v8", gate="rollback"))
    assert (status, body["verdict"]) == (200, "fail")  # 2xx: Flagger rolls the canary back
