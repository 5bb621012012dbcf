"""Drift retrains the model, once: ``vigil serve`` with a ``retraining:`` entry pointing at an
Airflow stand-in, predictions drifting through the HTTP API, and exactly one dagRun whose
``dag_run_id`` is the dedup key; its state is posted on the drift incident's timeline and
the version it made enters the registry as a shadow, not as stable.

The product runs as a process on the real clock; the short windows, polls and ``for`` come
from ``vigil.yaml`` and a rules file, never from patched code.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml

from tests.acceptance.test_model_journey import MODEL, QUALITY_RULES, scored, write_reference
from tests.integration.procs import clean_env, serving, until, vigil_model
from tests.orchestrator_standin import OrchestratorStandin

BUDGET = 120.0
TOKEN = "retrain-journey-token-71c2"
AIRFLOW_TOKEN = "airflow-secret-token-3f9a"


async def test_drift_in_two_of_three_windows_starts_one_dag_run_followed_to_a_shadow(
    tmp_path: Path,
) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'vigil.db'}"
    write_reference(tmp_path / "validation.csv")
    stored = vigil_model(
        db_url, "reference", MODEL, str(tmp_path / "validation.csv"), "--version", "v7",
        cwd=tmp_path,
    )  # fmt: skip
    assert stored.returncode == 0, stored.stderr
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "fast.yaml").write_text(
        yaml.safe_dump({"rules": [{"name": n, "for": "1s"} for n in QUALITY_RULES]})
    )
    async with OrchestratorStandin(auth=f"Bearer {AIRFLOW_TOKEN}") as airflow:
        config = {
            "rules_dir": "rules",
            "models": {MODEL: {"accuracy_sla": 0.85, "confidence_floor": 0.80}},
            "quality": {"window": {"rows": 300}, "min_rows": 200},
            "sources": {"interval": "1s", "system": False},
            "timer_poll": "1s",
            "retraining": {
                MODEL: {
                    "airflow": {
                        "url": airflow.url,
                        "dag_id": "retrain_fraud",
                        "token_env": "VIGIL_AIRFLOW_TOKEN",
                    },
                    "drift": {"drifted": 2, "of": 3, "window": "2s"},
                    "cooldown": "1h",
                    "poll": "1s",
                }
            },
        }
        (tmp_path / "vigil.yaml").write_text(yaml.safe_dump(config))
        env = clean_env(
            VIGIL_DATABASE_URL=db_url,
            VIGIL_INGEST_TOKEN=TOKEN,
            VIGIL_AIRFLOW_TOKEN=AIRFLOW_TOKEN,
        )
        async with (
            asyncio.timeout(BUDGET),
            serving(tmp_path, env, TOKEN) as (vigil, http, base),
        ):

            async def send(rows: list[dict[str, Any]]) -> None:
                url = f"{base}/api/v1/models/{MODEL}/predictions"
                async with http.post(url, json={"rows": rows}) as resp:
                    assert resp.status == 200, await resp.text()

            async def get(path: str) -> Any:
                async with http.get(f"{base}{path}") as resp:
                    assert resp.status == 200, await resp.text()
                    return await resp.json()

            await send(scored(300, shifted=False, seed=2))
            await send(scored(300, shifted=True, seed=3, start=300))

            async def dag_runs() -> list[Any]:
                return list(airflow.dag_runs.values())

            [run] = await until(vigil, dag_runs)
            key = run["dag_run_id"]
            assert key.startswith(f"vigil:{MODEL}:drift:"), key
            airflow.start()

            async def incident() -> int | None:
                listed = (await get("/api/v1/incidents"))["incidents"]
                return int(listed[0]["id"]) if listed else None

            n = await until(vigil, incident)

            async def lines() -> list[str]:
                body = await get(f"/api/v1/incidents/{n}")
                return [e["text"] for e in body["timeline"] if e["kind"] == "retrain"]

            await until(vigil, lambda: _has(lines(), "⏳ Retraining"))
            airflow.finish("success")
            done = await until(vigil, lambda: _has(lines(), "✅ Retraining"))
            version = run["conf"]["version"]
            assert done.startswith(
                f"✅ Retraining of {MODEL} finished (success): version {version}"
            )
            assert "registered as shadow, serving no traffic" in done
            # Drift went on all along: still exactly one run, sent once.
            assert len(airflow.dag_runs) == 1
            assert [p.body["dag_run_id"] for p in airflow.calls("POST", "dagRuns")] == [key]
            assert AIRFLOW_TOKEN not in vigil.log()
        (tmp_path / "cli").mkdir()  # a shell without the server's vigil.yaml (and its token)
        listed = vigil_model(db_url, "list", MODEL, cwd=tmp_path / "cli")
        assert listed.returncode == 0, listed.stderr
        [row] = [line for line in listed.stdout.splitlines() if version in line]
        assert "shadow" in row, listed.stdout


async def _has(lines: Any, prefix: str) -> str | None:
    return next((line for line in await lines if line.startswith(prefix)), None)
