"""``vigil demo`` (and every other command) starts in well under two seconds because it does
not import what it does not use: scipy (over half a second; only drift statistics need it),
pyarrow (only ``vigil model reference`` reads a CSV or Parquet file) and Slack's libraries
(only with Slack configured). Timing a run on a shared machine would be flaky; what the
process loaded is not, so that is what is checked, after the whole demo has run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("scipy", "pyarrow", "slack_bolt", "slack_sdk")

PROBE = f"""
import sys
from bot.cli import main
rc = main(["demo"])
print("LOADED", sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)
sys.exit(rc)
"""


def test_the_demo_runs_without_importing_what_it_does_not_use(tmp_path: Path) -> None:
    done = subprocess.run(  # noqa: S603 (our own interpreter, a fixed script)
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "# Post-mortem: #1 " in done.stdout  # the whole story ran
    assert "LOADED []" in done.stderr.splitlines(), done.stderr
