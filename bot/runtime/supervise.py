"""A split ``vigil serve``: one process takes alerts and commands, another pages.

Why: with every statement and follow-up in one process, a storm made ``vigil serve`` on
PostgreSQL CPU-bound on one core while the database used a fifteenth of another (2,000
alerts on a 2-core machine: 600-780 alerts/s committed, post p99 320-400 ms). Storing the
alerts alone reached about 1,700 alerts/s; paging, timers and Slack delivery took the rest.
So on PostgreSQL (whose MVCC lets two processes write at once; SQLite has one writer, which
a second process would only wait for) ``vigil serve`` runs two children of itself:

- ``--role http``: HTTP (alerts, API, Slack requests, ``/metrics``), chat backends and rule
  polling. Its commits write the follow-ups they owe (``reactions``), the Slack outbox and
  timers, as one process would.
- ``--role worker``: the reactor (pages, escalations, SLA timers), durable timers and the
  Slack outbox. It hears the other's commits at once through PostgreSQL's NOTIFY
  (``bot.store.wakeups``). Each row is claimed before it is run, as between replicas, so a row is
  run once whichever process looks.

This process only watches: the migrations applied (once: two children must not race
them), it starts both, forwards SIGTERM and SIGINT, and starts a child again when it dies
(after 1 s, doubling to 30 s), so a crashed worker costs seconds of paging, never a page.
A child that exits with an error within :data:`START_GRACE` (a port in use, a database
refused) stops everything with its exit code: a broken start is not retried forever. The
children die with it: the kernel kills them when it dies (``PR_SET_PDEATHSIG`` on Linux),
and each also stops when its stdin, a pipe from here, ends.

Metrics: both children count in ``PROMETHEUS_MULTIPROC_DIR``, a folder this process makes
and removes (``bot.core.metrics``), so ``/metrics`` shows the worker's page failures too.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import shutil
import signal
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from prometheus_client import multiprocess

from bot.core.metrics import MULTIPROCESS_DIR
from bot.runtime.serve import stop_on_signals

log = logging.getLogger(__name__)

ROLES = ("http", "worker")
START_GRACE = 10.0  # seconds: an error exit sooner than this is a failed start
RESTART_FIRST = 1.0
RESTART_MAX = 30.0
STOP_GRACE = 20.0  # seconds a child has to stop after SIGTERM before it is killed
_PR_SET_PDEATHSIG = 1


def split_wanted(choice: str, *, postgres: bool, cpus: int | None) -> bool:
    """Does ``--processes`` (``auto``, ``1`` or ``2``) split ``vigil serve``? ``2`` on
    SQLite is refused by the caller before this; ``auto`` splits on PostgreSQL with two or
    more CPUs (on one CPU the two processes would only take turns)."""
    if choice == "1":
        return False
    if choice == "2":
        return True
    return postgres and (cpus or 1) >= 2


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the kernel sends SIGKILL to this child when its parent dies (a kill -9 of
    the supervisor must not leave an orphan holding the port)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@dataclass
class _Failed:
    role: str
    code: int


async def supervise(child_args: Sequence[str], env: Mapping[str, str]) -> int:
    """Run both roles until SIGTERM/SIGINT (the database already migrated: two children
    must not race the migrations); the exit status (0 on a clean stop)."""
    folder = tempfile.mkdtemp(prefix="vigil-metrics-")
    child_env = {**env, MULTIPROCESS_DIR: folder}
    stop = asyncio.Event()
    stop_on_signals(stop)
    failed: list[_Failed] = []
    log.info("Vigil: HTTP and intake in one process, pages, timers and Slack in another")
    try:
        await asyncio.gather(
            *(_keep(role, child_args, child_env, folder, stop, failed) for role in ROLES)
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if failed:
        first = failed[0]
        print(
            f"vigil: cannot start: the {first.role} process exited with code {first.code} "
            "(its log is above)",
            file=sys.stderr,
        )
        return first.code or 1
    return 0


async def _keep(
    role: str,
    child_args: Sequence[str],
    env: Mapping[str, str],
    folder: str,
    stop: asyncio.Event,
    failed: list[_Failed],
) -> None:
    """Run one role's child, starting it again when it dies, until ``stop``."""
    loop = asyncio.get_running_loop()
    delay = RESTART_FIRST
    while not stop.is_set():
        started = loop.time()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            *child_args,
            "--role",
            role,
            stdin=asyncio.subprocess.PIPE,
            env=dict(env),
            preexec_fn=_die_with_parent,
        )
        code = await _until_exit_or_stop(proc, stop)
        multiprocess.mark_process_dead(proc.pid, folder)  # type: ignore[no-untyped-call]
        if stop.is_set():
            return
        ran = loop.time() - started
        if code > 0 and ran < START_GRACE:
            failed.append(_Failed(role, code))
            stop.set()  # the other child is stopped too
            return
        if ran > 2 * RESTART_MAX:
            delay = RESTART_FIRST
        log.error(
            "the %s process exited (%s) after %.0f s; starting it again in %.0f s",
            role,
            f"code {code}" if code >= 0 else f"signal {-code}",
            ran,
            delay,
        )
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, RESTART_MAX)


async def _until_exit_or_stop(proc: asyncio.subprocess.Process, stop: asyncio.Event) -> int:
    """The child's exit code; on ``stop``, SIGTERM, a bounded wait, then SIGKILL."""
    exited = asyncio.ensure_future(proc.wait())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not exited.done():
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(exited), STOP_GRACE)
        except TimeoutError:
            log.warning("the child %d did not stop within %.0f s; killing it", proc.pid, STOP_GRACE)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
    code = await exited
    if proc.stdin is not None:
        proc.stdin.close()
    return code


async def stop_when_stdin_ends(stop: asyncio.Event) -> None:
    """In a child: stop when the supervisor's end of stdin closes (it died), wherever
    ``PR_SET_PDEATHSIG`` does not exist."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass
    if not stop.is_set():
        log.warning("the supervising process is gone; stopping")
        stop.set()
