"""``vigil model reference MODEL FILE`` as a real process: the profile a model is judged by.

The installed entry point profiles a CSV, stores it, and a running Vigil on the same database
(another process, here the test's own) watches the model from its next poll; refusals are one
line on stderr naming the option or column, with nothing stored.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from bot.config.load import Settings
from bot.monitoring.store import ReferenceStore
from tests.conftest import MakeVigil
from tests.integration.procs import vigil_model
from tests.support import FIXTURES, FakeClock

M = "fraud-scorer"
SAMPLE = FIXTURES / "reference-fraud-scorer.csv"


vigil = vigil_model


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'v.db'}"


def test_store_a_reference_and_list_it(db: str, tmp_path: Path) -> None:
    done = vigil(db, "reference", M, str(SAMPLE), "--version", "v7", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith(f"Stored the reference of {M} v7 from {SAMPLE}")
    assert "500 rows, 4 features" in out
    assert "merchant_category (categorical)" in out
    assert "reference accuracy" in out
    assert f"POST /api/v1/models/{M}/predictions" in out
    listed = vigil(db, "references", M, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "v7  500 rows" in listed.stdout
    assert "by cli:alice" in listed.stdout


def test_the_registry_stable_version_is_the_default(db: str, tmp_path: Path) -> None:
    reg = vigil(db, "register", M, "v9", "--stage", "stable", cwd=tmp_path)
    assert reg.returncode == 0, reg.stderr
    done = vigil(db, "reference", M, str(SAMPLE), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Stored the reference of {M} v9 ")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("missing.csv",), "missing.csv"),
        ((str(SAMPLE), "--prediction", "score"), "--prediction"),
        ((str(SAMPLE), "--importances", "amount=high"), "importances"),
    ],
)
def test_refusals_are_one_line_and_store_nothing(
    db: str, tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    done = vigil(db, "reference", M, *args, cwd=tmp_path)
    assert done.returncode == 1, done.stdout
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert says in done.stderr
    listed = vigil(db, "references", M, cwd=tmp_path)
    assert f"{M} has no reference yet" in listed.stdout


async def test_a_running_vigil_watches_what_the_command_stored(
    make_vigil: MakeVigil, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    vigil_app = await make_vigil()
    assert vigil_app.models.monitor.models() == []
    done = await asyncio.to_thread(
        vigil, settings.database_url, "reference", M, str(SAMPLE), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    clock.advance(minutes=1)
    await vigil_app.rules_runner.tick(clock())
    assert vigil_app.models.monitor.models() == [M]
    (stored,) = await ReferenceStore(vigil_app.db).history(M)
    assert stored.version == "unversioned"
    assert stored.n_rows == 500
    assert dataclasses.asdict(stored.profile)["n_rows"] == 500
