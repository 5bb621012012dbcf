"""``vigil demo`` tells the whole story, in order, through the real code paths."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from bot.runtime.demo import run_demo

TITLE = "Input drift PSI 0.29 > 0.2 on model fraud-scorer with accuracy 0.86 below SLA 0.90"
"""From P2 on, the title is the story the severity tells."""


async def test_demo_tells_the_story_in_order() -> None:
    out = io.StringIO()
    assert await run_demo(out) == 0
    text = out.getvalue()
    beats = [
        "fraud-scorer: accuracy 0.94 (SLA 0.90), input PSI 0.04",
        "🟡 P3 #1 opened: Input drift on fraud-scorer",
        "🟠 P2 #1 severity now P2",
        "P2: input drift PSI 0.29 > 0.2 on model fraud-scorer with accuracy 0.86 below SLA 0.90",
        # From P2 on, the title is the story the severity tells, not the first alert's.
        f"02:05  📟 DM @maya       🟠 P2 #1 {TITLE} — you are paged (level 1)",
        "fraud-scorer: accuracy 0.71 (SLA 0.90)",
        f"02:10  📟 DM @sam        🟠 P2 #1 {TITLE} — you are paged (level 2)",
        "acknowledged by @sam",
        "⏪ fraud-scorer rolled back: v3 → v2 (last known good) by @sam",
        "alert cleared: Accuracy below SLA on fraud-scorer (1 alert still firing)",
        "resolved by @sam",
        f"# Post-mortem: #1 {TITLE}",
        "| Time to acknowledge | 13 min |",
    ]
    at = 0
    for beat in beats:
        found = text.find(beat, at)
        assert found >= 0, f"missing, or out of order: {beat!r}"
        at = found
    assert text.count("you are paged (level 1)") == 1
    assert text.count("you are paged (level 2)") == 1


def test_vigil_demo_runs_from_the_command_line_and_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    done = subprocess.run(  # noqa: S603 (our own entry point, fixed arguments)
        [str(Path(sys.executable).parent / "vigil"), "demo"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "⏪ fraud-scorer rolled back: v3 → v2" in done.stdout
    assert f"# Post-mortem: #1 {TITLE}" in done.stdout
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.iterdir())  # no ./var, no database left in the caller's directory
