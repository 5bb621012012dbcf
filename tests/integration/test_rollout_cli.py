"""``vigil model canary|ab|rollout`` as real processes on a SQLite file: a rollout is started
from a shell (the running Vigil would make its looks), read back, refused a second time and
stopped; ``canary MODEL VERSION PERCENT`` (or ``--percent``) still just sets the share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_model_cli import M, ok, refused


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'v.db'}"


def test_start_read_refuse_a_second_and_stop_a_rollout(db: str, tmp_path: Path) -> None:
    ok(db, "register", M, "v7", "--stage", "stable", cwd=tmp_path)
    ok(db, "register", M, "v8", cwd=tmp_path)
    ok(db, "register", M, "v9", cwd=tmp_path)
    out = ok(db, "canary", M, "v8", "--steps", "10,50,100", "--every", "5m", cwd=tmp_path)
    assert out.startswith("🚦 fraud-scorer v8 canary at 10 % (step 1 of 2): last look no look")
    assert ok(db, "list", cwd=tmp_path) == "fraud-scorer: v7 stable at 90 %, v8 canary at 10 %\n"
    assert refused(db, "canary", M, "v9", cwd=tmp_path).startswith(
        "vigil: a rollout of fraud-scorer is already running: v8 at 10 %, started by cli:"
    )
    status = ok(db, "rollout", M, cwd=tmp_path).splitlines()
    assert status[1:] == ["  no look yet"]
    assert ok(db, "rollout", M, "--abort", cwd=tmp_path).startswith(
        "⏹️ fraud-scorer v8 canary stopped at 10 %; v7 serves 100 %"
    )
    assert ok(db, "list", cwd=tmp_path) == "fraud-scorer: v7 stable at 100 %\n"
    assert refused(db, "rollout", M, "--abort", cwd=tmp_path) == (
        "vigil: no rollout of fraud-scorer is running"
    )
    # A/B: v9 at a fixed share against the stable v7.
    out = ok(db, "ab", M, "v7", "v9", "--share", "30", cwd=tmp_path)
    assert out.startswith("🚦 fraud-scorer A/B v7 vs v9 at 30 %: last look no look yet")
    assert refused(db, "ab", M, "v8", "v9", cwd=tmp_path) == (
        "vigil: A/B compares against the version serving now: v7, not v8"
    )


def test_a_percent_still_sets_the_share_without_judging(db: str, tmp_path: Path) -> None:
    ok(db, "register", M, "v7", "--stage", "stable", cwd=tmp_path)
    ok(db, "register", M, "v8", cwd=tmp_path)
    assert ok(db, "canary", M, "v8", "20", cwd=tmp_path).startswith(
        "fraud-scorer v8 is now canary at 20 %."
    )
    assert ok(db, "canary", M, "v8", "--percent", "0", cwd=tmp_path).startswith(
        "fraud-scorer v8 is now shadow."
    )
    assert refused(db, "canary", M, "v8", "--steps", "50,10", cwd=tmp_path) == (
        "vigil: steps: must rise step by step, got 50, 10"
    )
