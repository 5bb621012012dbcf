"""A short verb reads the vigil.yaml sections it uses, and only those (issue 16, item 7).

``vigil incidents`` needs the database URL and the log level; it does not parse (nor import
the code of) the routes, Slack, retraining or notify sections, so a mistake there does not
stop a tired engineer from listing incidents: ``vigil check`` and ``vigil serve`` refuse it.
The top level is still validated whole, and a section a verb does read is refused with the
very line ``vigil check`` prints, since both go through the same parser.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.procs import BIN, clean_env

SCHEDULE = """\
schedules:
  ml-oncall:
    tz: Europe/Berlin
    layers:
      - {name: primary, rotation: weekly, handoff: "2026-11-23T09:00", participants: ["@maya"]}
"""
BROKEN_ROUTES = "routes:\n  - {policy: nobody-by-this-name}\n"


def vigil(tmp_path: Path, config: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "vigil.yaml").write_text(config)
    return subprocess.run(  # noqa: S603 (our own entry point, fixed arguments)
        [str(BIN / "vigil"), *args],
        cwd=tmp_path,
        env=clean_env(VIGIL_DATABASE_URL=f"sqlite:///{tmp_path / 'vigil.db'}"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "argv",
    [("incidents",), ("report",), ("model", "list"), ("schedule", "overrides", "ml-oncall")],
)
def test_a_verb_answers_despite_a_broken_section_it_does_not_read(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    check = vigil(tmp_path, SCHEDULE + BROKEN_ROUTES, "check")
    assert check.returncode == 1
    assert "configuration error: " in check.stderr
    assert "routes[0].policy" in check.stderr, check.stderr
    done = vigil(tmp_path, SCHEDULE + BROKEN_ROUTES, *argv)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("config", "argv"),
    [
        (SCHEDULE + "databse_url: sqlite:///x.db\n", ("incidents",)),  # the top level: always
        (SCHEDULE + "log_level: INFO\nhttp: {port: many}\n", ("postmortem", "1")),
        (SCHEDULE + "sla:\n  P2: {acknowledge: soon}\n", ("report",)),
        (SCHEDULE + "working_hours: {days: mon-fri}\n", ("report",)),
        (SCHEDULE + "registry: {kind: nonsense}\n", ("model", "list")),
        (SCHEDULE + "rollout: {steps: [50, 10]}\n", ("model", "rollout", "fraud")),
        (
            SCHEDULE + "rotations:\n  ml-oncall: {participants: ['@a'], shift: 1w, "
            "handoff: '2026-03-02T09:00', tz: UTC}\n",
            ("schedule", "overrides", "ml-oncall"),
        ),
    ],
)
def test_a_broken_section_a_verb_reads_is_refused_as_check_refuses_it(
    tmp_path: Path, config: str, argv: tuple[str, ...]
) -> None:
    check = vigil(tmp_path, config, "check")
    assert check.returncode == 1
    assert check.stderr.startswith("vigil: configuration error: "), check.stderr
    done = vigil(tmp_path, config, *argv)
    assert (done.returncode, done.stderr) == (1, check.stderr)
