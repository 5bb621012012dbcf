"""``/incident oncall``: who is on call now, until when, who is next, how pages escalate."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.errors import ConfigError
from tests.conftest import MakeVigil
from tests.support import FakeClock

ONCALL_YAML = """
rotations:
  ml-oncall:
    participants: ["@alice", "@bob"]
    shift: 1w
    handoff: "2026-11-23T09:00"
    tz: Europe/Berlin
escalation:
  levels:
    - {notify: ["rotation:ml-oncall"], wait: 5m}
    - {notify: ["@carol"], wait: 10m}
"""


def _settings(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "vigil.yaml"
    path.write_text(text)
    return load_settings(path, {})


async def test_oncall_names_the_person_their_shift_end_and_the_escalation(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    clock.now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday, 03:00 in Berlin
    vigil = await make_vigil(oncall=_settings(tmp_path, ONCALL_YAML).oncall)
    reply = await vigil.commands.run_incident("oncall", actor="@dave")
    assert reply.ephemeral
    lines = reply.text.splitlines()
    assert lines[0] == ("📟 @alice is on call for ml-oncall until Mon 30 Nov 09:00 CET; next: @bob")
    assert lines[1].startswith(
        "Escalation (P1, P2 page): Level 1: rotation:ml-oncall now; level 2: @carol "
    )


async def test_oncall_without_a_policy_says_nobody_is_paged(make_vigil: MakeVigil) -> None:
    vigil = await make_vigil()
    reply = await vigil.commands.run_incident("oncall", actor="@dave")
    assert reply.text.startswith("No escalation policy is configured, so nobody is paged.")


def test_an_escalation_level_naming_an_unknown_rotation_is_refused(tmp_path: Path) -> None:
    text = ONCALL_YAML.replace('"rotation:ml-oncall"', '"rotation:ml-on-call"')
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, text)
    assert caught.value.key == "escalation.levels[0].notify"
    assert "rotation:ml-on-call names no rotation" in str(caught.value)


def test_escalation_levels_keep_their_order(tmp_path: Path) -> None:
    settings = _settings(tmp_path, ONCALL_YAML)
    again = dataclasses.replace(settings, port=9)
    assert again.oncall.policy is not None
    assert [lvl.targets for lvl in again.oncall.policy.levels] == [
        ("rotation:ml-oncall",),
        ("@carol",),
    ]
