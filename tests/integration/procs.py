"""Child processes for integration tests: start, wait until ready, stop, read their logs.

Nothing here sleeps to win a race. Readiness is a bounded poll of an HTTP endpoint the child
serves (``/healthz``, ``/-/ready``); between polls we *await the child's exit* for a moment,
so a child that dies on start fails the test at once with its log instead of timing out.
Every child is stopped in a ``finally``: the signal, a bounded wait, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import aiohttp
import pytest

BIN = Path(sys.executable).parent
"""The virtual environment's bin/, where the ``vigil`` entry point is installed."""

POLL = 0.05
"""Seconds between readiness polls (spent awaiting the child's exit, never idling)."""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that the kernel just called free (bind to port 0).

    Under pytest-xdist each worker takes only ports of its own residue (port % workers ==
    its index): the port is closed again before the child binds it, and the kernel could
    hand the same one to the other worker's test meanwhile. The kernel starts each search
    at a random port, so a few tries find one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if workers <= 1 or port % workers == index % workers:
            return port
    return port


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any ``VIGIL_*`` variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(extra)
    return env


def vigil_model(db_url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``vigil model ARGS`` to completion as the user ``alice``, on the database ``db_url``."""
    return subprocess.run(  # noqa: S603 (our own entry point, fixed arguments)
        [str(BIN / "vigil"), "model", *args],
        cwd=cwd,
        env=clean_env(VIGIL_DATABASE_URL=db_url, USER="alice", LOGNAME="alice"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class Child:
    """One running child process whose stdout and stderr go to one log file."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process, log_path: Path) -> None:
        self.name = name
        self.proc = proc
        self.log_path = log_path
        self.killed = False

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def describe(self) -> str:
        """The child's state and the tail of its log, for failure messages."""
        return (
            f"{self.name} (pid {self.proc.pid}, exit {self.returncode}); log:\n{self.log()[-4000:]}"
        )

    async def exited_within(self, seconds: float) -> bool:
        """Await the child's exit for at most ``seconds``; True if it has exited."""
        try:
            await asyncio.wait_for(self.proc.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def wait_http(self, url: str, *, within: float = 20.0) -> None:
        """Poll ``url`` until it answers 200; fail at once if the child exits first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        last = "no answer yet"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while loop.time() < deadline:
                try:
                    async with http.get(url) as resp:
                        if resp.status == 200:
                            return
                        last = f"HTTP {resp.status}: {(await resp.text())[:200]}"
                except (aiohttp.ClientError, TimeoutError) as exc:
                    last = f"{type(exc).__name__}: {exc}"
                if await self.exited_within(POLL):
                    pytest.fail(f"{self.name} exited before {url} was ready; {self.describe()}")
        pytest.fail(f"{url} not ready within {within}s ({last}); {self.describe()}")

    async def stop(self, sig: signal.Signals = signal.SIGTERM, *, grace: float = 10.0) -> int:
        """Send ``sig`` and await the exit; SIGKILL (and ``killed``) after ``grace`` seconds."""
        if self.proc.returncode is None:
            with suppress(ProcessLookupError):
                self.proc.send_signal(sig)
            if not await self.exited_within(grace):
                self.killed = True
                with suppress(ProcessLookupError):
                    self.proc.kill()
                await asyncio.wait_for(self.proc.wait(), grace)
        assert self.proc.returncode is not None
        return self.proc.returncode

    async def stop_cleanly(self, sig: signal.Signals = signal.SIGTERM, grace: float = 10.0) -> None:
        """Stop with ``sig`` and assert the child exited 0 by itself within ``grace`` seconds."""
        code = await self.stop(sig, grace=grace)
        assert not self.killed, f"{self.name} ignored {sig.name} for {grace}s; {self.describe()}"
        assert code == 0, f"{self.name} exited {code} on {sig.name}; {self.describe()}"


@asynccontextmanager
async def running(
    name: str,
    argv: Sequence[str],
    *,
    log_path: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[Child]:
    """Start ``argv`` (stdin from /dev/null) and always stop it on the way out."""
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            cwd=cwd,
            env=dict(env) if env is not None else None,
        )
    child = Child(name, proc, log_path)
    try:
        yield child
    finally:
        await child.stop()


@asynccontextmanager
async def serving(
    tmp_path: Path, env: Mapping[str, str], token: str, *args: str
) -> AsyncIterator[tuple[Child, aiohttp.ClientSession, str]]:
    """``vigil serve ARGS`` on a free loopback port, run in ``tmp_path`` (its vigil.yaml
    there), ready on ``/healthz``, with an HTTP session carrying ``token``; its base URL.
    Both are stopped on the way out."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [str(BIN / "vigil"), "serve", "--port", str(port), *args]
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        running("serve", argv, log_path=tmp_path / "serve.log", cwd=tmp_path, env=env) as vigil,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15), headers=headers) as http,
    ):
        await vigil.wait_http(f"{base}/healthz", within=60)
        yield vigil, http, base


async def until(child: Child, probe: Callable[[], Awaitable[Any]]) -> Any:
    """Await ``probe()`` until it returns something truthy, failing at once with the
    child's log if the child exits meanwhile (the caller's ``asyncio.timeout`` bounds it)."""
    while True:
        found = await probe()
        if found:
            return found
        assert not await child.exited_within(POLL * 4), child.describe()
