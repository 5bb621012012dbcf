"""``vigil demo`` (and every other command) starts in well under two seconds because it does
not import what it does not use: scipy (over half a second; only drift statistics and the
canary judge's tests need it), pyarrow (only ``vigil model
reference`` reads a CSV or Parquet file) and Slack's libraries (only with Slack
configured). Timing a run on a shared machine would be flaky; what the process loaded is
not, so that is what is checked, after the whole demo has run. The demo's second act runs
the canary judge, whose always-valid tests load scipy at its first look: that, and nothing
before it, loads scipy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("scipy", "pyarrow", "slack_bolt", "slack_sdk")

PROBE = f"""
import sys, traceback

class Watch:
    # Who first imports scipy: the innermost of our own frames on the stack.
    def find_spec(self, name, path=None, target=None):
        if name == "scipy":
            ours = [f for f in traceback.extract_stack() if "/bot/" in f.filename]
            print("SCIPY BY", ours[-1].filename.split("/bot/")[-1], ours[-1].name,
                  file=sys.stderr)
            sys.meta_path.remove(self)
        return None

sys.meta_path.insert(0, Watch())
from bot.cli import main
rc = main(["demo"])
print("LOADED", sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)
sys.exit(rc)
"""


def test_the_demo_runs_without_importing_what_it_does_not_use(tmp_path: Path) -> None:
    done = subprocess.run(  # noqa: S603 (our own interpreter, a fixed script)
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env=_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "# Post-mortem: #1 " in done.stdout  # the whole story ran
    assert "canary FAILED at 10 %" in done.stdout  # the second act too
    assert "LOADED ['scipy']" in done.stderr.splitlines(), done.stderr
    (first,) = [line for line in done.stderr.splitlines() if line.startswith("SCIPY BY")]
    assert first.startswith("SCIPY BY rollout/"), done.stderr  # the judge, nothing before it


def _env() -> dict[str, str]:
    """A bare environment; PYTHONPATH kept, so a worktree's copy of ``bot`` is the one run."""
    kept = {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}
    return {"PATH": "/usr/bin:/bin", **kept}
