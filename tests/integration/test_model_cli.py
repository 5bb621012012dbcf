"""``vigil model …`` as a real process: set up the registry that ``/rollback`` acts on.

Each call is the installed entry point in a fresh process on a SQLite file (and, in the last
test, on the suite's database fixture, PostgreSQL included), run in a worker thread from the
async test so the event loop is never blocked.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.integration.procs import vigil_model

M = "fraud-scorer"


vigil = vigil_model


def ok(db_url: str, *args: str, cwd: Path) -> str:
    done = vigil(db_url, *args, cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def refused(db_url: str, *args: str, cwd: Path) -> str:
    """The one line on stderr of a refused command (exit 1, no traceback, nothing on stdout)."""
    done = vigil(db_url, *args, cwd=cwd)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    return done.stderr.strip()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'v.db'}"


def test_set_up_a_model_promote_canary_retire_and_read_it_back(db: str, tmp_path: Path) -> None:
    assert ok(db, "list", cwd=tmp_path) == (
        "No models registered yet. Add one: vigil model register MODEL VERSION --stage stable\n"
    )
    out = ok(db, "register", M, "v1", "--stage", "stable", cwd=tmp_path)
    assert out.startswith("Registered fraud-scorer v1: stable at 100 %.\nfraud-scorer:\n  v1 · ")
    ok(db, "register", M, "v2", "--notes", "retrained on November data", cwd=tmp_path)
    out = ok(db, "promote", M, "v2", cwd=tmp_path)
    assert out.startswith("fraud-scorer v2 is now stable; v1 stays deployable as a shadow.\n")
    out = ok(db, "register", M, "v3", "--stage", "canary", "--traffic", "10", cwd=tmp_path)
    assert out.startswith("Registered fraud-scorer v3: canary at 10 %.")
    out = ok(db, "canary", M, "v3", "20", cwd=tmp_path)
    assert out.startswith("fraud-scorer v3 is now canary at 20 %.")
    assert ok(db, "list", cwd=tmp_path) == "fraud-scorer: v2 stable at 80 %, v3 canary at 20 %\n"
    out = ok(db, "retire", M, "v1", cwd=tmp_path)
    assert out.startswith("fraud-scorer v1 is retired.")
    rows = ok(db, "list", M, cwd=tmp_path).splitlines()
    assert rows[0] == "fraud-scorer:"
    assert [r.split(" · ")[:2] for r in rows[1:]] == [
        ["  v1", "retired"],
        ["  v2", "stable at 80 %"],
        ["  v3", "canary at 20 %"],
    ]
    assert rows[2].endswith("retrained on November data")
    history = ok(db, "history", M, cwd=tmp_path).splitlines()
    assert [line.split("  ")[1:3] for line in history] == [
        ["v1", "registered"],
        ["v1", "promoted"],
        ["v2", "registered"],
        ["v2", "promoted"],
        ["v3", "registered"],
        ["v3", "canary"],
        ["v3", "canary"],
        ["v1", "retired"],
    ]
    assert all(" by cli:alice: " in line for line in history)


def test_refusals_are_one_line_exit_1_and_change_nothing(db: str, tmp_path: Path) -> None:
    ok(db, "register", M, "v1", "--stage", "stable", cwd=tmp_path)
    before = ok(db, "list", M, cwd=tmp_path)
    assert refused(db, "list", "nope", cwd=tmp_path) == (
        "vigil: The registry has no model 'nope'. Known models: fraud-scorer."
    )
    assert refused(db, "promote", M, "v9", cwd=tmp_path).startswith(
        "vigil: fraud-scorer has no version 'v9'."
    )
    assert refused(db, "register", M, "v1", cwd=tmp_path) == (
        "vigil: fraud-scorer v1 is already registered."
    )
    assert refused(db, "retire", M, "v1", cwd=tmp_path) == (
        "vigil: fraud-scorer v1 is the stable version; roll back or promote another version "
        "before retiring it."
    )
    assert "1-99" in refused(db, "register", M, "v2", "--stage", "canary", cwd=tmp_path)
    assert ok(db, "list", M, cwd=tmp_path) == before


def test_malformed_arguments_are_usage_errors(db: str, tmp_path: Path) -> None:
    done = vigil(db, "canary", M, "v1", "ten", cwd=tmp_path)
    assert done.returncode == 2
    assert "invalid int value: 'ten'" in done.stderr
    done = vigil(db, "register", M, "v1", "--stage", "gold", cwd=tmp_path)
    assert done.returncode == 2
    assert "invalid choice: 'gold'" in done.stderr


async def test_what_the_cli_registers_is_what_rollback_acts_on(
    make_vigil: MakeVigil, database_url: str, tmp_path: Path
) -> None:
    for args in (
        ("register", M, "v1", "--stage", "stable"),
        ("register", M, "v2"),
        ("promote", M, "v2"),
    ):
        await asyncio.to_thread(ok, database_url, *args, cwd=tmp_path)
    app: Vigil = await make_vigil()
    reply = await app.commands.run_rollback(M, actor="@alice")
    assert reply.text.startswith("⏪ fraud-scorer rolled back: v2 → v1 (last known good)")
    out = await asyncio.to_thread(ok, database_url, "history", M, cwd=tmp_path)
    assert out.splitlines()[-1].split("  ")[1:3] == ["v1", "rollback"]
    assert " by @alice: " in out.splitlines()[-1]
