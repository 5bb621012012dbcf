"""Handoff notices as the team meets them: one post to the team channel when a schedule
changes hands, naming the new person and the incidents they inherit; nothing twice (a rerun,
a second replica, a restart); a late post after downtime says "since" and is one post only;
and on Slack the notice goes through the outbox to ``chat.postMessage`` in the team channel.

The app's own Timers are started paused and driven with ``run_due`` on the FakeClock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

from bot.chat.backend import RecordingBackend
from bot.chat.slack.settings import SlackSettings
from bot.config.load import load_settings
from bot.core.secret import Secret
from bot.oncall.schedules.watch import TIMER_KIND, timer_key
from bot.oncall.settings import OncallSettings
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.slack_standin import SlackStandin
from tests.support import FakeClock

SCHEDULES_YAML = """
schedules:
  ml-oncall:
    tz: Europe/Berlin
    layers:
      - name: primary
        rotation: weekly
        handoff: "2026-11-23T09:00"
        participants: ["@alice", "@bob", "@carol"]
  solo:
    tz: Europe/Berlin
    layers:
      - {rotation: daily, handoff: "2026-11-23T09:00", participants: ["@dora"]}
"""
MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Mon 30 Nov 09:00 CET: @alice -> @bob
NEXT_MONDAY = MONDAY + timedelta(days=7)  # @bob -> @carol
ON_TIME = (
    "📟 Handoff: @bob is now on call for ml-oncall until Mon 7 Dec 09:00 CET "
    "(took over from @alice); next: @carol."
)


def _oncall(tmp_path: Path) -> OncallSettings:
    path = tmp_path / "vigil.yaml"
    path.write_text(SCHEDULES_YAML)
    return load_settings(path, {}).oncall


async def _start(make_vigil: MakeVigil, tmp_path: Path) -> tuple[Vigil, RecordingBackend]:
    vigil = await make_vigil(oncall=_oncall(tmp_path))
    chat = RecordingBackend()
    vigil.attach(chat)
    return vigil, chat


async def _handoff_timers(vigil: Vigil) -> list[tuple[str, datetime]]:
    return [(p.key, p.at) for p in await vigil.timers.pending() if p.kind == TIMER_KIND]


async def test_a_handoff_posts_one_notice_naming_the_new_person_and_the_open_incidents(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    vigil, chat = await _start(make_vigil, tmp_path)
    # A timer per schedule: "solo" has one person today, but an imported swap could change it.
    assert sorted(key for key, _ in await _handoff_timers(vigil)) == [
        timer_key("ml-oncall"),
        timer_key("solo"),
    ]
    drift = await vigil.incidents.open(title="fraud-scorer drift", actor="@dave", severity="P2")
    await vigil.incidents.acknowledge(drift.id, actor="@alice")

    clock.now = MONDAY - timedelta(minutes=30)
    await vigil.timers.run_due(clock())
    assert chat.notices == []
    ml = [t for t in await _handoff_timers(vigil) if t[0] == timer_key("ml-oncall")]
    assert ml == [(timer_key("ml-oncall"), MONDAY)]  # to the minute

    clock.now = MONDAY
    await vigil.timers.run_due(clock())
    assert chat.notices == [
        f"{ON_TIME}\nOpen incidents: #{drift.id} P2 fraud-scorer drift (acknowledged by @alice)."
    ]
    assert await vigil.timers.run_due(clock()) == 0  # the same time again: nothing more
    clock.advance(minutes=59)
    await vigil.timers.run_due(clock())
    assert len(chat.notices) == 1


async def test_two_replicas_and_a_restart_post_each_handoff_once(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    first, first_chat = await _start(make_vigil, tmp_path)
    second, second_chat = await _start(make_vigil, tmp_path)  # same database: a replica
    clock.now = MONDAY
    await first.timers.run_due(clock())
    await second.timers.run_due(clock())  # the row was claimed: nothing left for this one
    notices = first_chat.notices + second_chat.notices
    assert [n.splitlines()[0] for n in notices] == [ON_TIME]

    await first.close()
    await second.close()
    restarted, chat = await _start(make_vigil, tmp_path)  # resume leaves the pending timer be
    await restarted.timers.run_due(clock())
    assert chat.notices == []
    clock.now = NEXT_MONDAY
    await restarted.timers.run_due(clock())
    assert [n.splitlines()[0] for n in chat.notices] == [
        "📟 Handoff: @carol is now on call for ml-oncall until Mon 14 Dec 09:00 CET "
        "(took over from @bob); next: @alice."
    ]


async def test_after_downtime_one_late_notice_says_since_when(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    vigil, chat = await _start(make_vigil, tmp_path)
    clock.now = MONDAY + timedelta(hours=3)  # Vigil was down over Monday 09:00
    await vigil.timers.run_due(clock())
    assert chat.notices == [
        "📟 Handoff (late notice): @bob has been on call for ml-oncall since Mon 30 Nov "
        "09:00 CET, until Mon 7 Dec 09:00 CET (took over from @alice); next: @carol.\n"
        "No open incidents."
    ]

    clock.now = NEXT_MONDAY + timedelta(days=8)  # down over two handoffs: one notice, the last
    await vigil.timers.run_due(clock())
    assert len(chat.notices) == 2
    assert chat.notices[1].startswith(
        "📟 Handoff (late notice): @alice has been on call for ml-oncall since Mon 14 Dec"
    )


async def test_the_notice_reaches_the_team_channel_on_slack_through_the_outbox(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    async with SlackStandin() as slack:
        channel = slack.add_channel("incidents")
        settings = SlackSettings(
            bot_token=Secret("xoxb-test"),
            signing_secret=Secret("8f742231b10e8888abcd99yyyzzz85a5"),
            api_url=slack.url,
            alerts_channel="#incidents",
            users=MappingProxyType({}),
        )
        vigil = await make_vigil(oncall=_oncall(tmp_path), slack=settings)
        assert vigil.slack is not None
        slack.down()  # Slack is out when the handoff comes: the notice waits in the outbox
        clock.now = MONDAY
        await vigil.timers.run_due(clock())
        await vigil.slack.outbox.run_once(clock())
        assert slack.messages(channel) == []

        slack.up()
        clock.advance(minutes=1)
        await vigil.slack.outbox.run_once(clock())
        [posted] = slack.messages(channel)
        assert posted.text == f"{ON_TIME}\nNo open incidents."
        [call] = [c for c in slack.calls_to("chat.postMessage") if c.ok]
        assert call.args["channel"] == "#incidents"
        clock.advance(minutes=5)
        await vigil.slack.outbox.run_once(clock())
        assert len(slack.messages(channel)) == 1  # delivered once


async def test_a_swap_imported_into_a_one_person_schedule_is_announced(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    """@eve covers solo on Wednesday evening (imported, as `vigil schedule import` does from
    any process): the hourly look finds the new handoff and says so, once."""
    vigil, chat = await _start(make_vigil, tmp_path)
    swap = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        b"UID:swap@team\r\nDTSTAMP:20261120T000000Z\r\n"
        b"DTSTART;TZID=Europe/Berlin:20261125T180000\r\n"
        b"DTEND;TZID=Europe/Berlin:20261125T230000\r\nSUMMARY:@eve\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    await vigil.schedule_book.import_ics("solo", swap, actor="@dora", source="swap.ics")
    for hour in range(1, 48):  # Tuesday 03:00 to Thursday 02:00 in Berlin, hour by hour
        clock.now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC) + timedelta(hours=hour)
        await vigil.timers.run_due(clock())
    solo = [n.splitlines()[0] for n in chat.notices if "for solo" in n]
    assert len(solo) == 2  # @eve takes over at 18:00, @dora takes it back at 23:00
    assert solo[0].startswith("📟 Handoff: @eve is now on call for solo until Wed 25 Nov 23:00")
