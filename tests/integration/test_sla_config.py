"""``sla:`` and ``working_hours:`` in vigil.yaml reach the running bot: the channel is told of
a breach at the team's own target, not the product default, and the report counts against
the same targets. Time is the FakeClock; timers run through ``run_due``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.config.load import load_settings
from bot.oncall.settings import OncallSettings
from bot.oncall.sla.clocks import BusinessDays
from tests.conftest import MakeVigil
from tests.support import FakeClock

TEAM_SLA = """
working_hours: {days: mon-fri, from: "08:00", to: "16:00", tz: Europe/Berlin}
sla:
  P2: {acknowledge: 2m}
  P4: {acknowledge: 2bd}
  warn_at: []
"""


def _oncall(tmp_path: Path) -> OncallSettings:
    path = tmp_path / "vigil.yaml"
    path.write_text(TEAM_SLA)
    return load_settings(path, {}).oncall


def test_the_sla_section_overrides_only_what_it_names(tmp_path: Path) -> None:
    sla = _oncall(tmp_path).sla
    assert sla.targets["P2"].acknowledge == timedelta(minutes=2)
    assert sla.targets["P2"].resolve == timedelta(hours=24)  # the default, kept
    assert sla.targets["P4"].acknowledge == BusinessDays(2)
    assert sla.warn_at == ()
    assert sla.calendar.describe() == "Mon-Fri 08:00-16:00 Europe/Berlin"


async def test_a_breach_is_announced_at_the_configured_target(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    vigil = await make_vigil(oncall=_oncall(tmp_path))
    reply = await vigil.commands.run_incident("new Checkout slow --sev P2", actor="@dave")
    assert reply.incident is not None
    n = reply.incident.id

    async def sla_lines() -> list[str]:
        return [e.text for e in (await vigil.incidents.get(n)).timeline if e.kind == "sla"]

    clock.advance(minutes=1, seconds=59)
    await vigil.timers.run_due(clock())
    assert await sla_lines() == []  # warn_at: [] — no reminder before the breach
    clock.advance(seconds=1)
    await vigil.timers.run_due(clock())
    [line] = await sla_lines()
    assert "acknowledge" in line
    assert "breached" in line
    assert f"/incident ack {n}" in line
