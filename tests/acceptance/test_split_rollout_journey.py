"""The rollout journey of ``test_rollout_journey`` on PostgreSQL with a split ``vigil
serve`` (``--processes 2``): the HTTP process takes the predictions and labels, the worker
fires the rollout's looks (durable timers), so a look sees only what the HTTP process
stored in the minute ledger (closed minutes, flushed every 15 s). A worse canary is still
rolled back to 0 % with a P2 opened, by the worker, from the other process's evidence:
traffic keeps coming a batch a second until then, up to a minute and 15 s behind.

Real processes on the real clock; every wait is a bounded poll.
"""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

import pytest

from tests.acceptance.test_rollout_journey import TOKEN, cli, journey, prepare
from tests.conftest import postgres_url
from tests.integration.procs import clean_env, serving
from tests.integration.test_split_serve import both_children

BUDGET = 240.0
"""The one-process journey's budget plus the ledger's lag: the canary's rows reach the
worker once their minute has closed and the next 15 s flush has stored them."""


@pytest.mark.postgres
async def test_a_worse_canary_is_rolled_back_by_the_worker_of_a_split_serve(
    tmp_path: Path,
) -> None:
    db_url = await postgres_url()
    model = partial(cli, db_url, tmp_path)
    await prepare(model, tmp_path)
    env = clean_env(VIGIL_DATABASE_URL=db_url, VIGIL_INGEST_TOKEN=TOKEN, VIGIL_API_TOKEN=TOKEN)
    async with (
        asyncio.timeout(BUDGET),
        serving(tmp_path, env, TOKEN, "--processes", "2") as (vigil, http, base),
    ):
        assert set(await both_children(vigil)) == {"http", "worker"}
        await journey(model, vigil, http, base)
    assert "the worker process exited" not in vigil.log(), vigil.describe()
