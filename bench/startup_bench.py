"""How fast each front door of ``vigil`` answers, and which imports dominate it.

Run: ``.venv/bin/python bench/startup_bench.py [--runs 5] [--top 6]``

Each command runs as a real process (the installed ``vigil`` entry point) in a throwaway
directory with a small vigil.yaml (one schedule) and its own SQLite database, ``--runs`` times;
the best wall time is reported (the others measure the machine's other tenants), and the
least CPU time (user + system) the process used, which a busy machine disturbs less. Python
may write its bytecode cache (``PYTHONDONTWRITEBYTECODE`` is dropped), as an installed copy
has one: without it every run compiles each of Vigil's modules again. ``serve`` is
started, polled on ``/healthz`` every 10 ms until it answers 200 (time to ready), its resident
memory read from /proc, and stopped with SIGTERM. Then each command runs once more under
``python -X importtime`` and the packages whose imports cost most (self time summed per
top-level package; ``bot`` per module) are listed, with the total.

A ratio before/after cannot be computed in one run; the figures measured on the development
machine (2 shared cores) before and after the CLI was split per verb are in the commit
message of that change and in bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

BIN = Path(sys.executable).parent
VIGIL = str(BIN / "vigil")
CONFIG = """\
schedules:
  ml-oncall:
    tz: Europe/Berlin
    layers:
      - {name: primary, rotation: weekly, handoff: "2026-11-23T09:00", participants: ["@maya", "@sam"]}
"""
DOORS: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("check",),
    ("rules", "list"),
    ("model", "list"),
    ("schedule", "overrides", "ml-oncall"),
    ("incidents",),
    ("report",),
)


def _env(root: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("VIGIL_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["VIGIL_DATABASE_URL"] = f"sqlite:///{root / 'vigil.db'}"
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wall(args: tuple[str, ...], root: Path, runs: int) -> tuple[float, float]:
    """The best wall time of ``runs`` runs, and the least CPU time one of them used."""
    best = cpu = float("inf")
    for _ in range(runs):
        start, used = time.perf_counter(), _children_cpu()
        done = subprocess.run(  # noqa: S603 (our own entry point, fixed arguments)
            [VIGIL, *args], cwd=root, env=_env(root), capture_output=True, check=False
        )
        best = min(best, time.perf_counter() - start)
        cpu = min(cpu, _children_cpu() - used)
        if done.returncode != 0:
            sys.exit(f"vigil {' '.join(args)} failed: {done.stderr.decode()[-2000:]}")
    return best, cpu


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(root: Path) -> tuple[float, int]:
    """Seconds until /healthz answers 200, and the resident memory then (KiB)."""
    port = _free_port()
    start = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 (our own entry point, fixed arguments)
        [VIGIL, "serve", "--port", str(port), "--processes", "1"],
        cwd=root,
        env=_env(root),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            try:  # between polls, wait on the child: one that died ends the bench at once
                child.wait(timeout=0.01)
                sys.exit("vigil serve exited before /healthz answered")
            except subprocess.TimeoutExpired:
                pass
        ready = time.perf_counter() - start
        status = Path(f"/proc/{child.pid}/status").read_text()
        rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        return ready, rss
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()


def _imports(args: tuple[str, ...], root: Path, top: int) -> str:
    """The costliest imports of one run: self time summed per package (per module of bot)."""
    done = subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, "-X", "importtime", "-m", "bot.cli", *args],
        cwd=root,
        env=_env(root),
        capture_output=True,
        text=True,
        check=False,
    )
    cost: Counter[str] = Counter()
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line[len("import time:") :].split("|")
        module = name.strip()
        key = module if module.startswith("bot.") else module.split(".")[0]
        cost[key] += int(self_us)
    total = sum(cost.values()) / 1e6
    heads = ", ".join(f"{name} {us / 1e3:.0f} ms" for name, us in cost.most_common(top))
    return f"imports {total:.2f} s: {heads}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (best is shown)")
    parser.add_argument("--top", type=int, default=6, help="costliest imports listed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "vigil.yaml").write_text(CONFIG)
        subprocess.run(  # noqa: S603 (create the database once, outside the timings)
            [VIGIL, "incidents"], cwd=root, env=_env(root), check=True
        )
        print(f"best of {args.runs}, wall clock (and least CPU time), {os.cpu_count()} CPUs")
        for door in DOORS:
            best, cpu = _wall(door, root, args.runs)
            imports = _imports(door, root, args.top)
            print(f"vigil {' '.join(door):<32} {best:6.2f} s  cpu {cpu:4.2f} s   {imports}")
        ready = [_serve(root) for _ in range(args.runs)]
        best_ready = min(r for r, _ in ready)
        rss = max(m for _, m in ready) / 1024
        print(f"vigil serve (until /healthz is 200)   {best_ready:6.2f} s   {rss:.0f} MiB resident")
    return 0


if __name__ == "__main__":
    sys.exit(main())
