"""Issue 20, item 4: predictions ingested end to end over HTTP by a real ``vigil serve``.

Run: ``PYTHONPATH=$PWD .venv/bin/python bench/predictions_http.py [--seconds 10] [--senders 4]
[--db sqlite,postgresql]``; ``--code DIR`` serves another checkout's code (``--json-only`` for
one without the Arrow body), so before and after run in one invocation with ``--code A,B``.

One ``vigil serve`` child (one process, one event loop: one core at most) on SQLite or on
PostgreSQL (``$VIGIL_TEST_POSTGRES_URL``'s server, a database created for the run and
dropped after), with a reference of 16 numeric and 4 categorical features stored by
``vigil model reference``.
``--senders`` concurrent senders, each on one keep-alive connection, post for ``--seconds``:
first JSON bodies of 1,000 rows (pre-encoded, so the senders cost little), then Arrow IPC
streams of 5,000 rows (within the default body limit). Reports rows/s, post p50/p99 and the
server's resident memory before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg  # type: ignore[import-untyped]
import numpy as np
import psutil
import pyarrow as pa  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.procs import (  # noqa: E402
    BIN,
    clean_env,
    free_port,
    running,
    vigil_model,
)

MODEL = "bench-model"
ARROW = "application/vnd.apache.arrow.stream"
TOKEN = "bench-ingest-token-0123456789"  # noqa: S105  # a throwaway token for the child
NUMERIC = [f"n{i}" for i in range(16)]
CATEGORICAL = [f"c{i}" for i in range(4)]


def scored(n: int, seed: int, start: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    num = {k: rng.normal(0, 1, n).round(4).tolist() for k in NUMERIC}
    cat = {k: rng.choice(["a", "b", "c", "d"], n).tolist() for k in CATEGORICAL}
    conf = rng.uniform(0.5, 1, n).round(4).tolist()
    pred = rng.choice(["yes", "no"], n).tolist()
    return [
        {
            "id": f"r{start + i}",
            "features": {**{k: num[k][i] for k in NUMERIC}, **{k: cat[k][i] for k in CATEGORICAL}},
            "prediction": pred[i],
            "confidence": conf[i],
        }
        for i in range(n)
    ]


def arrow_body(rows: list[dict[str, Any]]) -> bytes:
    table = pa.Table.from_pylist(rows)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


async def storm(
    http: aiohttp.ClientSession, url: str, bodies: list[bytes], rows: int, kind: str, args: Any
) -> tuple[float, list[float]]:
    headers = {"Content-Type": kind}
    took: list[float] = []
    stop = time.perf_counter() + args.seconds

    async def sender(k: int) -> int:
        sent = 0
        while time.perf_counter() < stop:
            body = bodies[(k + sent) % len(bodies)]
            started = time.perf_counter()
            async with http.post(url, data=body, headers=headers) as resp:
                await resp.read()
                assert resp.status == 200, await resp.text()
            took.append((time.perf_counter() - started) * 1000)
            sent += 1
        return sent

    began = time.perf_counter()
    posts = sum(await asyncio.gather(*(sender(k) for k in range(args.senders))))
    return posts * rows / (time.perf_counter() - began), took


@contextlib.asynccontextmanager
async def database(kind: str, path: Path) -> AsyncIterator[str]:
    """The run's database URL: a SQLite file in ``path``, or a PostgreSQL database created
    on ``$VIGIL_TEST_POSTGRES_URL``'s server for this run and dropped after it."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{path / 'vigil.db'}"
        return
    server = os.environ.get("VIGIL_TEST_POSTGRES_URL")
    if not server:
        raise SystemExit("--db postgresql needs $VIGIL_TEST_POSTGRES_URL (.ci/start-postgres)")
    parts = urlsplit(server.replace("postgresql+asyncpg://", "postgresql://", 1))
    name = f"vigil_bench_{secrets.token_hex(4)}"
    admin = urlunsplit(parts)
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        url = urlunsplit(parts._replace(path=f"/{name}"))
        yield url.replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


@contextlib.asynccontextmanager
async def server_of(
    args: Any, path: Path, env: dict[str, str]
) -> AsyncIterator[tuple[Any, aiohttp.ClientSession, str]]:
    """``vigil serve`` on a free port (under cProfile with ``--profile FILE``: the stats are
    written when it stops), ready, and an HTTP session with the ingest token."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [str(BIN / "vigil")]
    if args.profile:
        argv = [sys.executable, "-m", "cProfile", "-o", args.profile, "-m", "bot.cli"]
    argv += ["serve", "--port", str(port)]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    timeout = aiohttp.ClientTimeout(total=60)
    async with (
        running("serve", argv, log_path=path / "serve.log", cwd=path, env=env) as vigil,
        aiohttp.ClientSession(timeout=timeout, headers=headers) as http,
    ):
        await vigil.wait_http(f"{base}/healthz", within=60)
        yield vigil, http, base
        await vigil.stop(grace=30)


async def run(args: Any, code: str, kind: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        async with database(kind, path) as db:
            await measure(args, code, kind, path, db)


async def measure(args: Any, code: str, db_kind: str, path: Path, db: str) -> None:
    with (path / "ref.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", *NUMERIC, *CATEGORICAL, "prediction", "confidence"])
        for r in scored(5_000, 1):
            feats = r["features"]
            out.writerow(
                [
                    r["id"],
                    *(feats[k] for k in (*NUMERIC, *CATEGORICAL)),
                    r["prediction"],
                    r["confidence"],
                ]
            )
    stored = vigil_model(db, "reference", MODEL, str(path / "ref.csv"), "--version", "v1", cwd=path)
    assert stored.returncode == 0, stored.stderr
    (path / "vigil.yaml").write_text("sources:\n  system: false\n")
    env = clean_env(VIGIL_DATABASE_URL=db, VIGIL_INGEST_TOKEN=TOKEN, VIGIL_PROCESSES="1")
    env["PYTHONPATH"] = code  # the code the server runs (absolute: see main)
    json_bodies = [
        json.dumps({"rows": scored(1_000, 10 + p, p * 1_000)}).encode() for p in range(20)
    ]
    arrow_bodies = [arrow_body(scored(5_000, 50 + p, p * 5_000)) for p in range(4)]
    async with server_of(args, path, env) as (vigil, http, base):
        server = psutil.Process(vigil.proc.pid)
        url = f"{base}/api/v1/models/{MODEL}/predictions"
        rss0 = server.memory_info().rss / 2**20
        print(
            f"vigil serve ({code}) on {db_kind}: 1 process; {args.senders} senders; "
            f"{args.seconds:.0f} s each"
        )
        posts = []
        if not args.arrow_only:
            posts.append(("JSON, 1,000-row posts", json_bodies, 1_000, "application/json"))
        if not args.json_only:
            posts.append(("Arrow, 5,000-row posts", arrow_bodies, 5_000, ARROW))
        for turn in range(args.rounds):
            for name, bodies, rows, content in posts:
                cpu0 = sum(server.cpu_times()[:2])
                rate, took = await storm(http, url, bodies, rows, content, args)
                cpu = sum(server.cpu_times()[:2]) - cpu0
                q = statistics.quantiles(took, n=100)
                print(
                    f"  {name:<26} {rate:>10,.0f} rows/s  post p50 {q[49]:6.1f} ms  p99 "
                    f"{q[98]:6.1f} ms  server CPU {cpu / args.seconds:.2f} cores"
                )
            rss = server.memory_info().rss / 2**20
            print(f"  server RSS {rss0:.0f} MiB before, {rss:.0f} MiB after round {turn + 1}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument(
        "--code", default=str(ROOT), help="the checkouts the server runs, comma-separated"
    )
    parser.add_argument("--db", default="sqlite", help="sqlite, postgresql or both")
    parser.add_argument("--json-only", action="store_true", help="old code: no Arrow")
    parser.add_argument("--arrow-only", action="store_true", help="only the Arrow posts")
    parser.add_argument("--profile", help="write the server's cProfile stats to this file")
    parser.add_argument("--rounds", type=int, default=1, help="each kind this many times")
    args = parser.parse_args()
    args.profile = args.profile and os.path.abspath(args.profile)
    for kind in args.db.split(","):
        for code in args.code.split(","):  # the child runs in a temp dir: absolute paths
            asyncio.run(run(args, os.path.abspath(code), kind))


if __name__ == "__main__":
    main()
