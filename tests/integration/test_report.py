"""The on-call report as its reader checks it: ``vigil report`` and ``/incident report``.

A month of on-call is played through the real services on SQLite and PostgreSQL (alerts
ingested, pages sent and escalated by ``run_due``, acks and resolves typed as commands), with
the FakeClock stepping so every figure below is computed by hand from the steps:

- #1 P1 (Oct 20 10:00, by hand): pages @alice, resolved 30 min later. Outside 30 days.
- #2 P2 (Nov 24 08:55, ModelAccuracyBelowSLA): pages @alice at 08:55 (before working
  hours) and @bob at 09:00; the alert repeats twice and PredictionDrift joins it; @bob acks at
  09:05 (MTTA 10 min, within 15), resolved 09:55 (MTTR 1 h, within 24 h).
- #3 P1 (09:05, by hand): pages @alice at 09:05 and @bob at 09:10; acked 09:25 (MTTA 20 min,
  over the 5 min target), resolved 12:05 (MTTR 3 h, within 4 h).
- #4 P3 (12:05, by hand): no page, never acknowledged; at 17:00 its 4 h ack target is past.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.chat.backend import RecordingBackend
from bot.chat.commands.run import NO_REPORTS, CommandRunner
from bot.chat.commands.spec import USAGE
from bot.chat.console import ConsoleBackend
from bot.config.load import load_settings
from bot.core.errors import ValidationError
from bot.ingest.generic import parse_generic
from bot.oncall.settings import OncallSettings
from bot.oncall.sla.clocks import DEFAULT_SLA
from bot.oncall.sla.report_service import ReportService
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.integration.procs import BIN, clean_env
from tests.support import FakeClock

POLICY = """
escalation:
  levels:
    - {notify: ["@alice"], wait: 5m}
    - {notify: ["@bob"], wait: 10m}
severity_paging:  # the story's P3 is a nightly batch: the channel hears of it, nobody is paged
  P3: {action: post}
"""
START = datetime(2026, 10, 20, 10, 0, tzinfo=UTC)  # a Tuesday
REPORT_AT = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    """Replaces the conftest clock: the story starts five weeks before the report."""
    return FakeClock(START)


@pytest.fixture
def oncall(tmp_path: Path) -> OncallSettings:
    path = tmp_path / "vigil.yaml"
    path.write_text(POLICY)
    return load_settings(path, {}).oncall


def reports(vigil: Vigil, clock: FakeClock, *, limit: int = 50_000) -> ReportService:
    """The service as the app builds it: default SLA targets and working hours (UTC 9-17)."""
    return ReportService(vigil.db, sla=DEFAULT_SLA, working_hours=None, clock=clock, limit=limit)


async def alert(vigil: Vigil, clock: FakeClock, name: str, value: float) -> int:
    """Post one model-quality alert on fraud-scorer; the incident it opened or joined."""
    alerts = parse_generic(
        {
            "title": f"{name} on fraud-scorer",
            "labels": {
                "alertname": name,
                "model": "fraud-scorer",
                "incident_group": "model-quality",
                "sla": "0.9",
            },
            "value": value,
        },
        now=clock(),
    )
    [outcome] = await vigil.ingestor.ingest(alerts)
    assert outcome.incident_id is not None
    return outcome.incident_id


async def command(vigil: Vigil, text: str, actor: str) -> None:
    reply = await vigil.commands.run_incident(text, actor=actor)
    assert not reply.text.startswith("⚠️"), reply.text


async def play_the_month(vigil: Vigil, clock: FakeClock) -> RecordingBackend:
    """The story in the module docstring, step by step; the pages the chat received."""
    chat = RecordingBackend()
    vigil.attach(chat)
    await command(vigil, "new Old outage --sev P1", "@dave")  # 1
    clock.advance(minutes=30)
    await command(vigil, "resolve 1", "@dave")

    clock.now = datetime(2026, 11, 24, 8, 55, tzinfo=UTC)
    await vigil.timers.run_due(clock())  # #1's escalation stopped with it; its SLA line said
    assert await alert(vigil, clock, "ModelAccuracyBelowSLA", 0.71) == 2
    clock.advance(minutes=5)  # 09:00
    await vigil.timers.run_due(clock())
    assert await alert(vigil, clock, "ModelAccuracyBelowSLA", 0.70) == 2
    clock.advance(minutes=2)  # 09:02
    assert await alert(vigil, clock, "ModelAccuracyBelowSLA", 0.69) == 2
    assert await alert(vigil, clock, "PredictionDrift", 0.4) == 2
    clock.advance(minutes=3)  # 09:05
    await command(vigil, "ack 2", "@bob")
    await command(vigil, "new Checkout latency --sev P1 --service checkout", "@dave")  # 3
    clock.advance(minutes=5)  # 09:10
    await vigil.timers.run_due(clock())
    clock.advance(minutes=15)  # 09:25
    await command(vigil, "ack 3", "@alice")
    clock.advance(minutes=30)  # 09:55
    await command(vigil, "resolve 2", "@bob")
    clock.advance(hours=2, minutes=10)  # 12:05
    await command(vigil, "resolve 3", "@alice")
    await command(vigil, "new Slow nightly batch --sev P3", "@dave")  # 4
    clock.now = REPORT_AT
    await vigil.timers.run_due(clock())
    assert [(who, n) for who, n, _ in chat.pages] == [
        ("@alice", 1),
        ("@alice", 2),
        ("@bob", 2),
        ("@alice", 3),
        ("@bob", 3),
    ]
    return chat


@pytest.fixture
async def month(make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock) -> Vigil:
    vigil = await make_vigil(oncall=oncall)
    await play_the_month(vigil, clock)
    return vigil


async def test_the_last_30_days_in_numbers(month: Vigil, clock: FakeClock) -> None:
    report, capped = await reports(month, clock).build("30d")
    assert capped == ()
    assert (report.period.start, report.period.end) == (REPORT_AT - timedelta(days=30), REPORT_AT)
    assert (report.incidents, report.open) == (3, 1)  # #1 is older than 30 days
    assert report.mtta.mean == timedelta(minutes=15)  # (20 + 10) / 2; #4 has no ack yet
    assert report.mttr.mean == timedelta(hours=2)  # (3 h + 1 h) / 2; #4 is open
    rows = {s.severity: s for s in report.by_severity}
    assert list(rows) == ["P1", "P2", "P3"]
    p1, p2, p3 = rows["P1"], rows["P2"], rows["P3"]
    assert (p1.mtta.mean, p1.mttr.mean) == (timedelta(minutes=20), timedelta(hours=3))
    assert (p2.mtta.mean, p2.mttr.mean) == (timedelta(minutes=10), timedelta(hours=1))
    assert (p3.open, p3.mtta.n, p3.mttr.n) == (1, 0, 0)
    # P1: acked 20 min after opening, 5 min allowed; resolved in 3 h of 4.
    assert (p1.ack_sla.met, p1.ack_sla.breached) == (0, 1)
    assert (p1.resolve_sla.met, p1.resolve_sla.breached) == (1, 0)
    assert (p2.ack_sla.met, p2.resolve_sla.met) == (1, 1)
    # P3: not acknowledged 4 h 55 min after opening (4 h allowed); 3 days to resolve remain.
    assert (p3.ack_sla.breached, p3.resolve_sla.decided) == (1, 0)
    assert (report.sla.met, report.sla.decided) == (3, 5)
    pages = {p.person: (p.pages, p.out_of_hours, p.incidents) for p in report.pages}
    # @alice's 08:55 page came before working hours (09:00-17:00 UTC); the others within.
    assert pages == {"@alice": (2, 1, 2), "@bob": (2, 0, 2)}
    noise = [(a.alertname, a.alerts, a.incidents, a.opened) for a in report.noisiest_by_alerts]
    assert noise == [("ModelAccuracyBelowSLA", 3, 1, 1), ("PredictionDrift", 1, 1, 0)]


async def test_the_rendered_report_reads_as_documented(month: Vigil, clock: FakeClock) -> None:
    text = await reports(month, clock).report("30d")
    assert text == (
        "Last 30 days: 3 incidents (1 P1, 1 P2, 1 P3; 1 open), MTTA 15m, MTTR 2h, SLA met 60 %\n"
        "\n"
        "Sev  Incidents  Open  MTTA (median)  MTTR (median)  Ack SLA     Resolve SLA\n"
        "P1   1          0     20m (20m)      3h (3h)        0 % of 1    100 % of 1\n"
        "P2   1          0     10m (10m)      1h (1h)        100 % of 1  100 % of 1\n"
        "P3   1          1     —              —              0 % of 1    —\n"
        "\n"
        "Paged   Pages  Out of hours  Incidents\n"
        "@alice  2      1             2\n"
        "@bob    2      0             2\n"
        "\n"
        "Noisiest alerts        Alerts  Incidents  Opened\n"
        "ModelAccuracyBelowSLA  3       1          1\n"
        "PredictionDrift        1       1          0"
    )


async def test_since_a_date_reaches_back_to_the_old_incident(
    month: Vigil, clock: FakeClock
) -> None:
    report, _ = await reports(month, clock).build("2026-10-01")
    assert report.period.label == "Since 2026-10-01"
    assert (report.incidents, report.open) == (4, 1)
    p1 = next(s for s in report.by_severity if s.severity == "P1")
    # #1 was resolved 30 min after opening with no ack: the resolve counts as the ack.
    assert (p1.incidents, p1.mtta.mean, p1.ack_sla.breached) == (2, timedelta(minutes=25), 2)
    assert report.mttr.mean == timedelta(hours=1, minutes=30)  # (30 min + 1 h + 3 h) / 3
    assert (report.sla.met, report.sla.decided) == (4, 7)
    assert {p.person: p.pages for p in report.pages} == {"@alice": 3, "@bob": 2}


async def test_a_period_with_nothing_in_it_says_so(month: Vigil, clock: FakeClock) -> None:
    clock.advance(days=60)
    assert await reports(month, clock).report("7d") == "Last 7 days: no incidents."


async def test_a_bad_since_is_a_validation_error_naming_since(
    month: Vigil, clock: FakeClock
) -> None:
    service = reports(month, clock)
    for bad in ("banana", "2027-01-01", "0d"):
        with pytest.raises(ValidationError) as caught:
            await service.report(bad)
        assert caught.value.field == "since"


async def test_the_row_cap_is_said_not_hidden(month: Vigil, clock: FakeClock) -> None:
    report, capped = await reports(month, clock, limit=2).build("30d")
    assert capped == ("incidents", "pages")  # 3 and 4 of them; 2 alerts fit
    assert report.incidents == 2  # the earliest two: #2 and #3
    assert [p.pages for p in report.pages] == [1, 1]
    text = await reports(month, clock, limit=2).report("30d")
    assert text.endswith(
        "\n\n⚠️ More incidents and pages in this period than one report reads: only the "
        "earliest 2 of each were counted. Ask for a shorter period for exact figures."
    )


# -- /incident report ------------------------------------------------------------------


def runner(vigil: Vigil, service: ReportService | None) -> CommandRunner:
    """A command runner like the app's, with or without the report service."""
    return CommandRunner(
        vigil.incidents,
        vigil.postmortems,
        oncall=vigil.settings.oncall,
        clock=vigil.clock,
        playbooks=vigil.playbooks,
        reports=service,
    )


async def test_incident_report_answers_the_caller_with_fenced_tables(
    month: Vigil, clock: FakeClock
) -> None:
    commands = runner(month, reports(month, clock))
    reply = await commands.run_incident("report 30d", actor="@carol")
    assert reply.ephemeral
    assert reply.incident is None
    blocks = reply.text.split("\n\n")
    assert blocks[0] == (
        "Last 30 days: 3 incidents (1 P1, 1 P2, 1 P3; 1 open), MTTA 15m, MTTR 2h, SLA met 60 %"
    )
    assert [b.splitlines()[0] for b in blocks[1:]] == ["```"] * 3  # Slack keeps the columns
    assert "@alice  2      1             2" in blocks[2]
    week = await commands.run_incident("report", actor="@carol")  # 7 days by default
    assert week.text.startswith("Last 7 days: 3 incidents")


async def test_the_console_prints_the_report_as_plain_text_without_slack_fences(
    month: Vigil, clock: FakeClock
) -> None:
    service = reports(month, clock)
    console = ConsoleBackend(
        runner(month, service), reader=asyncio.StreamReader(), out=io.StringIO(), user="@carol"
    )
    shown = await console.handle_line("/incident report 30d")
    assert shown is not None
    assert "```" not in shown
    assert shown == "(only you) " + await service.report("30d")
    assert "@alice  2      1             2" in shown  # the columns still line up


async def test_incident_report_with_a_bad_period_shows_the_usage(
    month: Vigil, clock: FakeClock
) -> None:
    commands = runner(month, reports(month, clock))
    reply = await commands.run_incident("report banana", actor="@carol")
    assert reply.ephemeral
    first, usage = reply.text.splitlines()
    assert first.startswith("⚠️ since: 'banana' is neither a duration nor a date.")
    assert usage == f"Usage: {USAGE['report']}"
    extra = await commands.run_incident("report 7d please", actor="@carol")
    assert extra.text == (
        "⚠️ report takes at most a period like 30d; unexpected 'please'.\n"
        "Usage: /incident report [SINCE]"
    )


async def test_the_running_app_answers_incident_report(make_vigil: MakeVigil) -> None:
    vigil = await make_vigil()
    reply = await vigil.commands.run_incident("report", actor="@carol")
    assert reply.ephemeral
    assert reply.text.startswith("Last 7 days: no incidents")


async def test_without_a_report_service_the_command_says_so(
    make_vigil: MakeVigil,
) -> None:
    vigil = await make_vigil()
    reply = await runner(vigil, None).run_incident("report 30d", actor="@carol")
    assert (reply.text, reply.ephemeral) == (NO_REPORTS, True)


# -- vigil report ----------------------------------------------------------------------


def vigil_report(db_url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own entry point, fixed arguments)
        [str(BIN / "vigil"), "report", *args],
        cwd=cwd,
        env=clean_env(VIGIL_DATABASE_URL=db_url),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_vigil_report_prints_the_report_and_refuses_a_bad_since(tmp_path: Path) -> None:
    """The CLI reads the wall clock, so the incident is placed two days before now."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'v.db'}"
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=2))
    settings = load_settings(None, {"VIGIL_DATABASE_URL": url})
    settings = dataclasses.replace(settings, postmortems_dir=tmp_path / "postmortems")
    vigil = await Vigil.create(settings, clock=clock, drive_timers=False)
    try:
        assert await alert(vigil, clock, "ModelAccuracyBelowSLA", 0.71) == 1
        clock.advance(minutes=4)
        await command(vigil, "ack 1", "@bob")
        clock.advance(minutes=86)
        await command(vigil, "resolve 1", "@bob")
    finally:
        await vigil.close()

    done = vigil_report(url, "--since", "30d", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Last 30 days: 1 incident (1 P2), MTTA 4m, MTTR 1h30m, SLA met 100 %"
    assert "ModelAccuracyBelowSLA  1       1          1" in lines
    assert done.stderr == ""

    default = vigil_report(url, cwd=tmp_path)  # 30 days unless told
    assert default.stdout.splitlines()[0] == lines[0]

    bad = vigil_report(url, "--since", "banana", cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stdout == ""
    [line] = bad.stderr.splitlines()
    assert line.startswith("vigil: since: 'banana' is neither a duration nor a date."), line


def test_vigil_report_help_names_since(tmp_path: Path) -> None:
    done = subprocess.run(  # noqa: S603 (our own entry point, fixed arguments)
        [str(BIN / "vigil"), "report", "--help"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert "usage: vigil report" in done.stdout
    assert "--since" in done.stdout
    assert "noisiest alerts" in done.stdout
