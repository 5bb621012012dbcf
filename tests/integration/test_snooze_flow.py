"""Snoozing as the person on call meets it: a snooze holds the escalation and pages again once
when its time runs out or the 24 h cap is reached; a metric that recovered (pushed samples,
judged on each poll of the real rule runner) ends it without waking anyone; stale samples
are no evidence; a resolve ends it quietly; a restart keeps the snooze and how long its
condition has held; bad input and resolved incidents are refused privately.

Time is the FakeClock: timers run through ``run_due``, polls through ``rules_runner.tick``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.chat.backend import RecordingBackend
from bot.ingest.generic import parse_generic
from bot.oncall.settings import OncallSettings
from bot.oncall.snooze.service import TIMER_KIND, timer_key
from bot.runtime.app import Vigil
from bot.sources.pushed import parse_samples
from tests.conftest import MakeVigil
from tests.support import FakeClock, paged_vigil

MIN = timedelta(minutes=1)


async def _accuracy_alert(vigil: Vigil, clock: FakeClock) -> int:
    """A P2 on the model fraud-scorer: pages @alice, then @bob 5 min later."""
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


def _who(chat: RecordingBackend) -> list[str]:
    return [who for who, _, _ in chat.pages]


async def _snooze_lines(vigil: Vigil, n: int) -> list[str]:
    return [e.text for e in (await vigil.incidents.get(n)).timeline if e.kind == "snooze"]


async def _snooze_timers(vigil: Vigil) -> list[datetime]:
    return [t.at for t in await vigil.timers.pending() if t.kind == TIMER_KIND]


async def _at(vigil: Vigil, clock: FakeClock, when: datetime) -> None:
    clock.now = when
    await vigil.timers.run_due(clock())


async def _psi(
    vigil: Vigil, clock: FakeClock, value: float | None, *, model: str = "fraud-scorer"
) -> None:
    """Push one psi sample taken now (none for ``value=None``) and poll, as the bot's rule
    schedule would: the sample goes through ``POST /api/v1/samples``'s own parser."""
    if value is not None:
        body = {
            "samples": [
                {
                    "metric": "input_drift_psi",
                    "value": value,
                    "labels": {"model": model, "feature": "income"},
                }
            ]
        }
        await vigil.pushed.push(parse_samples(body, now=clock()))
    await vigil.rules_runner.tick(clock())


async def test_a_snooze_holds_the_escalation_and_pages_again_once_when_its_time_is_up(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(vigil, clock)
    assert _who(chat) == ["@alice"]
    snoozed = clock.advance(minutes=2)

    reply = await vigil.commands.run_incident(f"snooze {n} 30m", actor="@alice")
    assert not reply.ephemeral  # the channel must know that nobody will be paged
    assert reply.text == (
        f"😴 Snoozed #{n}: no pages until 02:32 UTC. It pages again then, unless it is "
        "resolved first."
    )
    assert [t.kind for t in await vigil.timers.pending() if t.kind == "escalate"] == []
    assert await _snooze_timers(vigil) == [snoozed + 30 * MIN]
    assert f"🟠 😴 Snoozed #{n}: no pages until 02:32 UTC." in "\n".join(chat.announced)

    await _at(vigil, clock, snoozed + 30 * MIN - timedelta(seconds=1))
    assert _who(chat) == ["@alice"]  # @bob's level (due at 02:05) never came

    await _at(vigil, clock, snoozed + 30 * MIN)
    await vigil.timers.run_due(clock())  # run again: still one re-page
    assert _who(chat) == ["@alice", "@alice"]
    assert await _snooze_lines(vigil, n) == [
        reply.text.removeprefix("😴 "),
        f"Snooze of #{n} (30 min) is over: paging again.",
    ]
    assert await vigil.snoozes.active(n) is None
    assert await _snooze_timers(vigil) == []

    await _at(vigil, clock, snoozed + 35 * MIN)  # the policy runs again from level 1
    assert _who(chat) == ["@alice", "@alice", "@bob"]


async def test_a_recovered_metric_ends_the_snooze_after_the_hold_and_pages_nobody(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(vigil, clock)
    snoozed = clock.advance(minutes=2)
    reply = await vigil.commands.run_incident(f"snooze {n} until psi<0.1 for 30m", actor="@alice")
    assert reply.text == (
        f"😴 Snoozed #{n} until input_drift_psi<0.1 for 30 min, and no later than "
        "Wed 25 Nov 02:02 UTC. It pages again then, unless it is resolved first."
    )

    for minute in range(30):  # psi is fine from the start, but the hold counts from the snooze
        clock.now = snoozed + minute * MIN
        await _psi(vigil, clock, 0.05)
        await _psi(vigil, clock, 0.9, model="other-model")  # another model's psi: not evidence
        await vigil.timers.run_due(clock())
    assert await vigil.snoozes.active(n) is not None

    clock.now = snoozed + 30 * MIN
    await _psi(vigil, clock, 0.05)
    assert await vigil.snoozes.active(n) is None
    assert (await _snooze_lines(vigil, n))[-1] == (
        f"input_drift_psi<0.1 for 30 min held: the snooze of #{n} is over. "
        f"Check it; /incident resolve {n} if fixed."
    )
    assert await _snooze_timers(vigil) == []
    assert (
        f"🟠 😴 input_drift_psi<0.1 for 30 min held: the snooze of #{n} is over."
        in chat.announced[-1]
    )

    await _at(vigil, clock, snoozed + 25 * 60 * MIN)  # past the cap: nothing left to fire
    await _psi(vigil, clock, 0.05)
    assert _who(chat) == ["@alice"]  # good news is read in the channel, not paged
    assert len(await _snooze_lines(vigil, n)) == 2


async def test_a_stale_sample_is_no_evidence_and_a_bad_one_restarts_the_count(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, _chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(vigil, clock)
    snoozed = clock()
    await vigil.commands.run_incident(f"snooze {n} until psi<0.1 for 10m", actor="@alice")

    await _psi(vigil, clock, 0.05)  # one good sample, then silence: the source re-reports it
    for minute in range(1, 20):
        clock.now = snoozed + minute * MIN
        await _psi(vigil, clock, None)
    assert await vigil.snoozes.active(n) is not None  # 19 min, but nothing fresh since 0

    for minute in range(20, 26):  # fresh samples from 20 on; one over the line at 25
        clock.now = snoozed + minute * MIN
        await _psi(vigil, clock, 0.2 if minute == 25 else 0.05)
    for minute in range(26, 36):
        clock.now = snoozed + minute * MIN
        await _psi(vigil, clock, 0.05)
    assert await vigil.snoozes.active(n) is not None  # held since 26: 9 min at 35

    clock.now = snoozed + 36 * MIN
    await _psi(vigil, clock, 0.05)
    assert await vigil.snoozes.active(n) is None


async def test_the_24_hour_cap_pages_again(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(vigil, clock)
    snoozed = clock()
    reply = await vigil.commands.run_incident(f"snooze {n} 48h", actor="@alice")
    assert "Capped at 24 h, the longest a snooze lasts (you asked for 48 h)." in reply.text

    await _at(vigil, clock, snoozed + timedelta(hours=24) - timedelta(seconds=1))
    assert _who(chat) == ["@alice"]
    await _at(vigil, clock, snoozed + timedelta(hours=24))
    assert _who(chat) == ["@alice", "@alice"]
    assert (await _snooze_lines(vigil, n))[-1] == (
        f"Snooze of #{n} reached the 24 h cap: paging again."
    )


async def test_a_condition_that_never_holds_pages_at_the_cap(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(vigil, clock)
    snoozed = clock()
    await vigil.commands.run_incident(f"snooze {n} until psi<0.1 for 30m", actor="@alice")
    await _psi(vigil, clock, 0.3)
    await _at(vigil, clock, snoozed + timedelta(hours=24))
    assert _who(chat) == ["@alice", "@alice"]
    assert (await _snooze_lines(vigil, n))[-1] == (
        f"Snooze of #{n} reached the 24 h cap without input_drift_psi<0.1 for 30 min holding: "
        "paging again."
    )


async def test_resolving_during_a_snooze_ends_it_quietly(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(vigil, clock)
    await vigil.commands.run_incident(f"snooze {n} 30m", actor="@alice")
    clock.advance(minutes=10)
    await vigil.commands.run_incident(f"resolve {n} rolled back", actor="@alice")
    assert await _snooze_timers(vigil) == []
    assert await vigil.snoozes.active(n) is None

    await _at(vigil, clock, clock() + timedelta(hours=2))
    assert _who(chat) == ["@alice"]
    assert len(await _snooze_lines(vigil, n)) == 1  # the snooze itself; its end says nothing


async def test_a_resolved_incident_cannot_be_snoozed_and_nothing_changes(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, _chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(vigil, clock)
    await vigil.commands.run_incident(f"resolve {n}", actor="@alice")
    before = await vigil.incidents.get(n)

    reply = await vigil.commands.run_incident(f"snooze {n} 30m", actor="@alice")
    assert reply.ephemeral
    assert reply.text == (
        f"⚠️ Cannot snooze incident #{n}: it is resolved, so nothing pages for it. Nothing changed."
    )
    assert await vigil.incidents.get(n) == before
    assert await vigil.snoozes.active(n) is None
    assert await _snooze_timers(vigil) == []


async def test_bad_input_is_refused_privately_naming_what_is_wrong(
    make_vigil: MakeVigil, oncall: OncallSettings
) -> None:
    vigil, _chat = await paged_vigil(make_vigil, oncall)
    reply = await vigil.commands.run_incident("snooze 12 until psi<<0.1", actor="@alice")
    assert reply.ephemeral
    assert reply.text.splitlines() == [
        "⚠️ Compare with <, <=, > or >=, not '<<' (like psi<0.1). "
        "Example: /incident snooze 12 until psi<0.1 for 30m",
        "Usage: /incident snooze N [DURATION] [until CONDITION [for DURATION]] | off",
    ]
    unknown = await vigil.commands.run_incident("snooze 999 30m", actor="@alice")
    assert unknown.ephemeral
    assert "There is no incident #999" in unknown.text


async def test_a_metric_vigil_does_not_know_is_refused_naming_the_ones_it_does(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    """A condition on a metric nothing reports could never end the snooze: refused, with the
    names Vigil knows and the closest one; the short names people type are understood."""
    vigil, _chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(vigil, clock)
    before = await vigil.incidents.get(n)
    reply = await vigil.commands.run_incident(f"snooze {n} until input_drift<0.1", actor="@al")
    assert reply.text.startswith(f"😴 Snoozed #{n} until input_drift_psi<0.1"), reply.text
    await vigil.commands.run_incident(f"snooze {n} off", actor="@al")
    before = await vigil.incidents.get(n)

    reply = await vigil.commands.run_incident(f"snooze {n} until inpt_drift_psi<0.1", actor="@al")
    assert reply.ephemeral
    first = reply.text.splitlines()[0]
    assert first.startswith(
        "⚠️ No metric named 'inpt_drift_psi' reaches Vigil, so this snooze could never end "
        "by itself. Did you mean input_drift_psi? Metrics it knows: accuracy, "
    ), first
    assert " more. Example: /incident snooze 12 until input_drift_psi<0.1 for 30m" in first
    assert await vigil.snoozes.active(n) is None  # nothing changed
    assert await vigil.incidents.get(n) == before


async def test_off_ends_the_snooze_and_pages_again_at_once(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(vigil, clock)
    await vigil.commands.run_incident(f"snooze {n} 30m", actor="@alice")
    clock.advance(minutes=3)

    reply = await vigil.commands.run_incident(f"snooze {n} off", actor="@carol")
    assert not reply.ephemeral
    assert reply.text == f"😴 Snooze of #{n} ended early by @carol: paging again."
    assert _who(chat) == ["@alice", "@alice"]
    assert await _snooze_timers(vigil) == []

    again = await vigil.commands.run_incident(f"snooze {n} off", actor="@carol")
    assert again.ephemeral
    assert again.text == f"⚠️ #{n} is not snoozed; nothing to end."


async def test_ending_the_snooze_of_an_acknowledged_incident_pages_nobody(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(vigil, clock)
    await vigil.commands.run_incident(f"ack {n}", actor="@alice")
    await vigil.commands.run_incident(f"snooze {n} 30m", actor="@alice")
    clock.advance(minutes=3)

    reply = await vigil.commands.run_incident(f"snooze {n} off", actor="@carol")
    assert not reply.ephemeral
    assert reply.text == (
        f"😴 Snooze of #{n} ended early by @carol; #{n} stays acknowledged by @alice, "
        "so nobody is paged."
    )
    assert _who(chat) == ["@alice"]  # the first page only: no "Acknowledge" page again
    clock.advance(hours=2)
    await vigil.timers.run_due(clock())
    assert _who(chat) == ["@alice"]
    assert (await vigil.incidents.get(n)).state == "acknowledged"

    await vigil.commands.run_incident(f"snooze {n} 30m", actor="@alice")  # and running out
    await _at(vigil, clock, clock() + 30 * MIN)
    assert _who(chat) == ["@alice"]
    assert (await _snooze_lines(vigil, n))[-1] == (
        f"Snooze of #{n} (30 min) is over; #{n} stays acknowledged by @alice, so nobody is paged."
    )


async def test_a_new_snooze_replaces_the_last(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    vigil, chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(vigil, clock)
    start = clock()
    await vigil.commands.run_incident(f"snooze {n} 30m", actor="@alice")
    clock.advance(minutes=1)
    await vigil.commands.run_incident(f"snooze {n} 10m", actor="@alice")
    assert await _snooze_timers(vigil) == [start + 11 * MIN]

    await _at(vigil, clock, start + 11 * MIN)
    await _at(vigil, clock, start + 31 * MIN)
    assert _who(chat).count("@alice") == 2  # the first page and one re-page, not two


async def test_a_restart_keeps_the_snooze_and_how_long_its_condition_has_held(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    first, chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(first, clock)
    snoozed = clock()
    await first.commands.run_incident(f"snooze {n} until psi<0.1 for 30m", actor="@alice")
    for minute in range(21):
        clock.now = snoozed + minute * MIN
        await _psi(first, clock, 0.05)
    await first.close()

    clock.now = snoozed + 22 * MIN  # down for two minutes: no gap over 5 min
    second, chat2 = await paged_vigil(make_vigil, oncall)
    assert await _snooze_timers(second) == [snoozed + timedelta(hours=24)]
    for minute in range(22, 30):
        clock.now = snoozed + minute * MIN
        await _psi(second, clock, 0.05)
    assert await second.snoozes.active(n) is not None

    clock.now = snoozed + 30 * MIN  # 30 min after the snooze, not 30 after the restart
    await _psi(second, clock, 0.05)
    assert await second.snoozes.active(n) is None
    assert chat.pages[1:] == []
    assert chat2.pages == []


async def test_two_replicas_end_a_snooze_once(
    make_vigil: MakeVigil, oncall: OncallSettings, clock: FakeClock
) -> None:
    one, _chat = await paged_vigil(make_vigil, oncall)
    n = await _accuracy_alert(one, clock)
    snoozed = clock()
    await one.commands.run_incident(f"snooze {n} until psi<0.1 for 5m", actor="@alice")
    two, _chat2 = await paged_vigil(make_vigil, oncall)  # reads the snooze at start
    for minute in range(6):
        clock.now = snoozed + minute * MIN
        await _psi(one, clock, 0.05)
        await _psi(two, clock, 0.05)
    assert await one.snoozes.active(n) is None
    held = [line for line in await _snooze_lines(one, n) if "held" in line]
    assert len(held) == 1


async def test_the_snooze_timer_is_keyed_per_incident() -> None:
    assert timer_key(1) == "incident:1:snooze"
    assert not timer_key(12).startswith(timer_key(1))
