"""A real ``mlflow server`` (SQLite backend, a loopback port) for the MLflow registry tests,
and the few REST calls a training pipeline or a colleague would make beside Vigil.

MLflow comes from the ``mlflow`` dependency group (``make venv`` and ``.ci/run`` install
it). Without it the tests skip saying so; under ``CI=true`` they fail. The server takes
several seconds to start (its database migrations), so a test module shares one server and
each test works on a model of its own. Readiness is a bounded poll of ``/health``; between
polls we await the child's exit, so a server that dies on start fails at once with its log.
"""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.procs import BIN, POLL, clean_env, free_port, in_ci

MLFLOW = BIN / "mlflow"
START_WITHIN = 240.0  # seconds; a loaded 2-core machine takes most of a minute


@contextmanager
def mlflow_server(workdir: Path) -> Iterator[str]:
    """``mlflow server`` in ``workdir``; yields its base URL, stops it afterwards."""
    if not MLFLOW.is_file():
        message = f"no {MLFLOW}: install the mlflow dependency group (uv sync --group mlflow)"
        if in_ci():
            pytest.fail(message + " (CI=true: the MLflow registry tests must run)")
        pytest.skip(message)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "mlflow.log"
    command = [
        str(MLFLOW),
        "server",
        "--backend-store-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
        "--default-artifact-root",
        str(workdir / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with log_path.open("w") as log:
        proc = subprocess.Popen(  # noqa: S603 (the venv's mlflow, fixed arguments)
            command, cwd=workdir, env=clean_env(), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(proc, url, log_path)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    waited = 0.0
    last = "no answer yet"
    while waited < START_WITHIN:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:  # noqa: S310
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        try:
            proc.wait(timeout=POLL * 4)  # await the child's exit between polls
        except subprocess.TimeoutExpired:
            waited += POLL * 4 + 0.01
            continue
        tail = log_path.read_text(errors="replace")[-4000:]
        pytest.fail(f"mlflow server exited ({proc.returncode}) before it was ready; log:\n{tail}")
    tail = log_path.read_text(errors="replace")[-4000:]
    pytest.fail(f"mlflow server not ready within {START_WITHIN}s ({last}); log:\n{tail}")


class Colleague:
    """What happens in MLflow outside Vigil: a pipeline registering versions, a person
    moving an alias by hand."""

    def __init__(self, url: str) -> None:
        self.api = f"{url}/api/2.0/mlflow"

    async def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, self.api + path, **kwargs) as resp,
        ):
            data: dict[str, Any] = await resp.json(content_type=None)
            assert resp.status == 200, data
            return data

    async def model_with_versions(self, name: str, count: int) -> None:
        await self.call("POST", "/registered-models/create", json={"name": name})
        for i in range(1, count + 1):
            await self.call(
                "POST",
                "/model-versions/create",
                json={"name": name, "source": f"s3://models/{name}/{i}"},
            )

    async def aliases(self, name: str) -> dict[str, str]:
        got = await self.call("GET", "/registered-models/get", params={"name": name})
        return {a["alias"]: a["version"] for a in got["registered_model"].get("aliases", [])}

    async def tags(self, name: str, version: str) -> dict[str, str]:
        got = await self.call(
            "GET", "/model-versions/get", params={"name": name, "version": version}
        )
        return {t["key"]: t["value"] for t in got["model_version"].get("tags", [])}

    async def set_alias(self, name: str, alias: str, version: str) -> None:
        body = {"name": name, "alias": alias, "version": version}
        await self.call("POST", "/registered-models/alias", json=body)

    async def tag(self, name: str, version: str, key: str, value: str) -> None:
        body = {"name": name, "version": version, "key": key, "value": value}
        await self.call("POST", "/model-versions/set-tag", json=body)
