"""Post-mortems as users meet them: drafted on resolve for P1/P2, on demand, from the CLI."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from bot.config.load import load_settings
from bot.ingest.generic import parse_generic
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.support import FakeClock

VIGIL = Path(sys.executable).parent / "vigil"


async def _p2_incident(vigil: Vigil, clock: FakeClock) -> int:
    alerts = parse_generic(
        {
            "title": "Accuracy below SLA on fraud-scorer",
            "labels": {"alertname": "ModelAccuracyBelowSLA", "model": "fraud-scorer", "sla": "0.9"},
            "value": 0.71,
        },
        now=clock(),
    )
    [outcome] = await vigil.ingestor.ingest(alerts)
    assert outcome.incident_id is not None
    return outcome.incident_id


async def test_resolving_a_p2_writes_the_draft(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    vigil = await make_vigil(postmortems_dir=tmp_path / "pm")
    n = await _p2_incident(vigil, clock)
    clock.advance(minutes=4)
    await vigil.commands.run_incident(f"ack {n}", actor="@alice")
    clock.advance(minutes=30)
    await vigil.commands.run_incident(f"resolve {n} rolled back to v41", actor="@alice")

    view = await vigil.incidents.get(n)
    assert view.state == "resolved"
    path = tmp_path / "pm" / f"incident-{n}-postmortem.md"
    text = path.read_text()
    assert text.startswith(f"# Post-mortem: #{n} Accuracy below SLA on fraud-scorer")
    assert "accuracy 0.71 below SLA 0.90" in text
    assert "| Time to acknowledge | 4 min |" in text
    assert "| Time to resolve | 34 min |" in text
    assert view.timeline[-1].kind == "postmortem"
    assert str(path) in view.timeline[-1].text


async def test_resolving_a_p3_drafts_nothing(make_vigil: MakeVigil, tmp_path: Path) -> None:
    vigil = await make_vigil(postmortems_dir=tmp_path / "pm")
    await vigil.commands.run_incident("new Cache hit rate low --sev P3", actor="@alice")
    await vigil.commands.run_incident("resolve 1", actor="@alice")
    assert (await vigil.incidents.get(1)).state == "resolved"
    assert not (tmp_path / "pm").exists()


async def test_postmortem_command_drafts_an_open_incident_without_changing_its_state(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    vigil = await make_vigil(postmortems_dir=tmp_path / "pm")
    n = await _p2_incident(vigil, clock)
    reply = await vigil.commands.run_incident(f"postmortem {n}", actor="@bob")
    assert reply.ephemeral
    first = reply.text.splitlines()[0]
    assert (
        first
        == f"📝 Post-mortem draft for #{n} written to {tmp_path / 'pm'}/incident-{n}-postmortem.md"
    )
    assert "## Root cause" in reply.text
    view = await vigil.incidents.get(n)
    assert view.state == "triggered"
    assert view.timeline[-1].actor == "@bob"


async def test_asking_for_the_postmortem_of_a_resolved_incident_starts_the_review(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    vigil = await make_vigil(postmortems_dir=tmp_path / "pm")
    n = await _p2_incident(vigil, clock)
    await vigil.commands.run_incident(f"resolve {n}", actor="@alice")
    assert (await vigil.incidents.get(n)).state == "resolved"
    await vigil.commands.run_incident(f"postmortem {n}", actor="@alice")
    view = await vigil.incidents.get(n)
    assert view.state == "postmortem"
    assert [e.actor for e in view.timeline if e.kind == "postmortem"] == ["vigil", "@alice"]


async def test_a_broken_template_override_is_named_and_the_resolve_still_stands(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    overrides = tmp_path / "tpl"
    overrides.mkdir()
    (overrides / "postmortem.md.j2").write_text("# {{ incident.title }}\n{{ nosuch }}\n")
    vigil = await make_vigil(templates_dir=overrides, postmortems_dir=tmp_path / "pm")
    n = await _p2_incident(vigil, clock)

    reply = await vigil.commands.run_incident(f"postmortem {n}", actor="@bob")
    assert reply.ephemeral
    assert f"{overrides / 'postmortem.md.j2'}:2" in reply.text

    resolved = await vigil.commands.run_incident(f"resolve {n}", actor="@bob")
    assert not resolved.ephemeral  # the resolve happened; only the automatic draft failed
    assert (await vigil.incidents.get(n)).state == "resolved"


def _vigil_cli(*args: str, cwd: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own entry point, fixed arguments)
        [str(VIGIL), *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "VIGIL_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_vigil_postmortem_cli_writes_the_draft(clock: FakeClock, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'v.db'}"
    vigil = await Vigil.create(load_settings(None, {"VIGIL_DATABASE_URL": url}), clock=clock)
    try:
        n = await _p2_incident(vigil, clock)
    finally:
        await vigil.close()
    out = tmp_path / "out" / "pm.md"
    done = await asyncio.to_thread(
        _vigil_cli, "postmortem", str(n), "--out", str(out), cwd=tmp_path, url=url
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith(f"# Post-mortem: #{n} ")
    missing = await asyncio.to_thread(_vigil_cli, "postmortem", "99", cwd=tmp_path, url=url)
    assert missing.returncode == 1
    assert (
        missing.stderr.strip()
        == "vigil: There is no incident #99. `/incident list --all` shows them all."
    )
