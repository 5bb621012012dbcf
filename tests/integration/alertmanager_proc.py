"""A real Alertmanager as a child process, driven synchronously (urllib), for the tests that
compare Vigil with it (tests/integration/test_matchers_vs_alertmanager.py).

Needs ``/usr/bin/prometheus-alertmanager`` (Debian: ``apt-get install
prometheus-alertmanager``, which brings ``amtool`` too). Without it the tests skip, saying
so; with ``CI=true`` they fail instead. Nothing sleeps: readiness is a bounded poll, and
between polls we await the child's exit, so one that dies on start fails at once with its
log.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.procs import POLL, clean_env, free_port, in_ci

AM_NAME = "prometheus-alertmanager"
START_WITHIN = 20.0  # seconds for Alertmanager to answer /-/ready


def alertmanager_binary() -> str:
    found = shutil.which(AM_NAME) or (
        f"/usr/bin/{AM_NAME}" if Path(f"/usr/bin/{AM_NAME}").is_file() else None
    )
    if found is None:
        message = (
            f"{AM_NAME} is not installed (apt-get install -y --no-install-recommends {AM_NAME})"
        )
        if in_ci():
            pytest.fail(message + " (CI=true: the tests that need Alertmanager must run)")
        pytest.skip(message)
    return found


def rfc3339(at: datetime) -> str:
    """An instant as Alertmanager's API takes it."""
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class Api:
    """A running Alertmanager: its base URL, the child process and its log."""

    base: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def call(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 (a loopback URL of ours)
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
                raw = resp.read()
                is_json = resp.headers.get_content_type() == "application/json"
                return resp.status, json.loads(raw) if is_json else raw.decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def describe(self) -> str:
        tail = self.log_path.read_text(errors="replace")[-3000:]
        return f"{AM_NAME} (exit {self.proc.poll()}); log:\n{tail}"

    def wait(self, ready: Callable[[], bool], what: str, within: float) -> None:
        """Call ``ready()`` until true; between calls await the child's exit (never idle)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if ready():
                return
            try:
                self.proc.wait(timeout=POLL)
            except subprocess.TimeoutExpired:
                continue
            pytest.fail(f"{AM_NAME} exited before {what}; {self.describe()}")
        pytest.fail(f"no {what} within {within}s; {self.describe()}")


@contextmanager
def alertmanager(binary: str, home: Path, config: dict[str, Any]) -> Iterator[Api]:
    """Alertmanager with ``config`` on a free loopback port, its storage in ``home``;
    ready on ``/-/ready`` (bounded), stopped (SIGTERM, then SIGKILL) on the way out."""
    (home / "am.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    argv = [
        binary,
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        f"--storage.path={home}",
        f"--config.file={home / 'am.yml'}",
    ]
    log_path = home / "alertmanager.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603 (the system's Alertmanager, fixed arguments)
            argv, cwd=home, env=clean_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    api = Api(f"http://127.0.0.1:{port}", proc, log_path)
    try:
        api.wait(lambda: _ready(api), "/-/ready", START_WITHIN)
        yield api
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _ready(api: Api) -> bool:
    try:
        return api.call("GET", "/-/ready")[0] == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False
