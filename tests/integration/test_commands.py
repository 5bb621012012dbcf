"""``/incident`` commands end to end: text in, reply out, state and timeline in the database.

Everything goes through ``vigil.commands.run_incident`` exactly as Slack and the console call
it, on SQLite and on PostgreSQL. Refusals (bad input, unknown incident, illegal transition)
must answer the caller alone and leave the database and the channel untouched, which each
test checks by comparing a full snapshot of every incident before and after.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import text as sql

from bot.chat.backend import RecordingBackend
from bot.chat.commands.run import Reply
from bot.chat.commands.spec import USAGE
from bot.incidents.reactions.changes import Change
from bot.incidents.views import IncidentView
from bot.ingest.alertmanager import parse_alertmanager
from bot.runtime.app import Vigil
from tests.support import FakeClock, am_alert, am_payload, fixture_json

ALICE = "@alice"
ALL_USAGE = "\n".join(USAGE.values())


async def run(vigil: Vigil, text: str, actor: str = ALICE) -> Reply:
    return await vigil.commands.run_incident(text, actor=actor)


async def opened(vigil: Vigil, text: str, actor: str = ALICE) -> IncidentView:
    reply = await run(vigil, text, actor)
    assert reply.incident is not None, reply.text
    return reply.incident


async def snapshot(vigil: Vigil) -> list[IncidentView]:
    """Every incident with its alerts and timeline: equal snapshots mean nothing changed."""
    return await vigil.incidents.list(include_closed=True)


def recorder(vigil: Vigil) -> RecordingBackend:
    backend = RecordingBackend()
    vigil.attach(backend)
    return backend


async def assert_refused_and_nothing_changed(
    vigil: Vigil, text: str, channel: RecordingBackend
) -> Reply:
    before = await snapshot(vigil)
    heard = len(channel.announced)
    reply = await run(vigil, text)
    assert reply.ephemeral, reply.text
    assert reply.incident is None
    assert reply.text.startswith("⚠️ ")
    assert await snapshot(vigil) == before
    assert len(channel.announced) == heard, "a refused command must not reach the channel"
    return reply


# new


async def test_new_opens_an_incident_with_a_public_reply_naming_it(
    vigil: Vigil, clock: FakeClock
) -> None:
    channel = recorder(vigil)
    reply = await run(vigil, "new Ranker p99 over 2s --sev P2 --service ranker")
    assert not reply.ephemeral
    assert reply.text == "🟠 P2 #1 opened by @alice: Ranker p99 over 2s. Next: /incident ack 1"
    v = reply.incident
    assert v is not None
    assert (v.id, v.title, v.severity, v.state) == (1, "Ranker p99 over 2s", "P2", "triggered")
    assert (v.service, v.model, v.commander) == ("ranker", None, None)
    assert v.severity_source == "human"
    assert v.severity_reason == "P2: set by @alice when opening the incident"
    assert v.created_by == ALICE
    assert v.created_at == clock.now
    assert v.acknowledged_at is None
    assert v.resolved_at is None
    assert [(e.kind, e.actor, e.text, e.at) for e in v.timeline] == [
        ("opened", ALICE, "Opened by @alice: Ranker p99 over 2s", clock.now),
        ("severity", ALICE, "P2: set by @alice when opening the incident", clock.now),
    ]
    assert await vigil.incidents.get(1) == v
    assert channel.announced[0].startswith("🟠 P2 #1 opened: Ranker p99 over 2s. Next:")


async def test_new_without_severity_is_p4_and_says_how_to_set_one(vigil: Vigil) -> None:
    v = await opened(vigil, "new GPU node flapping")
    assert (v.severity, v.severity_source) == ("P4", "policy")
    assert "/incident sev N P1..P4" in v.severity_reason
    assert (v.service, v.model) == (None, None)


async def test_new_with_a_model_and_a_quoted_title(vigil: Vigil) -> None:
    v = await opened(vigil, 'new "Drift on ranker --sev is bad" --model ranker-v3 --sev=p1')
    assert (v.title, v.severity, v.model, v.service) == (
        "Drift on ranker --sev is bad",
        "P1",
        "ranker-v3",
        None,
    )


async def test_incident_numbers_count_up(vigil: Vigil) -> None:
    ids = [(await opened(vigil, f"new incident {i}")).id for i in range(3)]
    assert ids == [1, 2, 3]


async def test_a_title_too_long_for_the_database_is_refused_before_it_gets_there(
    vigil: Vigil,
) -> None:
    channel = recorder(vigil)
    reply = await assert_refused_and_nothing_changed(vigil, "new " + "x" * 301, channel)
    assert "300" in reply.text
    assert await snapshot(vigil) == []


# list


async def test_list_shows_open_incidents_most_severe_first_and_all_with_all(
    vigil: Vigil,
) -> None:
    empty = await run(vigil, "list")
    assert empty.ephemeral
    assert empty.text == "No open incidents. All quiet."
    assert (await run(vigil, "list --all")).text == "No incidents yet."

    for title, sev in [("a", "P3"), ("b", "P1"), ("c", "P4"), ("d", "P2"), ("e", "P1")]:
        await opened(vigil, f"new {title} --sev {sev}")
    await run(vigil, "resolve 4")  # d, P2: no longer open

    reply = await run(vigil, "list")
    assert reply.ephemeral
    lines = reply.text.splitlines()
    assert lines[0] == "4 open, most severe first:"
    # P1 first (newest first among equals), the resolved P2 gone, then P3, P4.
    assert lines[1:] == [
        "🔴 P1 #5 e · triggered",
        "🔴 P1 #2 b · triggered",
        "🟡 P3 #1 a · triggered",
        "🔵 P4 #3 c · triggered",
    ]

    everything = (await run(vigil, "list --all")).text.splitlines()
    assert everything[0] == "Recent incidents:"
    assert [line.split(" ")[2] for line in everything[1:]] == ["#5", "#4", "#3", "#2", "#1"]
    assert "🟠 P2 #4 d · resolved" in everything


async def test_list_names_the_commander_and_the_firing_alerts(vigil: Vigil) -> None:
    await vigil.ingestor.ingest(parse_alertmanager(fixture_json("alertmanager-v4-firing.json")))
    await run(vigil, "assign 1 @bob")
    assert (await run(vigil, "list")).text.splitlines()[1] == (
        "🔴 P1 #1 5xx ratio above 5% on payments · triggered · commander @bob · 1 alert firing"
    )


# show


async def test_show_is_private_and_has_the_reason_the_alerts_and_the_timeline(
    vigil: Vigil, clock: FakeClock
) -> None:
    await vigil.ingestor.ingest(parse_alertmanager(fixture_json("alertmanager-v4-firing.json")))
    clock.advance(minutes=2)
    await run(vigil, "note 1 looking at the payments dashboards")
    reply = await run(vigil, "show #1")
    assert reply.ephemeral
    assert reply.incident is not None
    assert reply.incident.id == 1
    lines = reply.text.splitlines()
    assert lines[0] == "🔴 P1 #1 5xx ratio above 5% on payments · triggered · 1 alert firing"
    assert lines[1] == "Why: " + reply.incident.severity_reason
    assert reply.incident.severity_reason.startswith("P1: ")
    assert "Next: /incident ack 1" in lines
    assert "Alerts:" in lines
    assert any(
        "[firing] 5xx ratio above 5% on payments" in line and "420abf6469f5137f" in line
        for line in lines
    )
    timeline = lines[lines.index("Timeline:") + 1 :]
    assert len(timeline) == len(reply.incident.timeline) == 4
    assert timeline[0].startswith("  2026-11-24 02:00:00Z  Opened by an alert from alertmanager")
    assert (
        timeline[-1]
        == "  2026-11-24 02:02:00Z  Note from @alice: looking at the payments dashboards"
    )


async def test_show_changes_nothing(vigil: Vigil) -> None:
    await opened(vigil, "new Ranker p99 over 2s")
    channel = recorder(vigil)
    before = await snapshot(vigil)
    await run(vigil, "show 1")
    assert await snapshot(vigil) == before
    assert channel.announced == []


async def test_show_says_who_wrote_each_note(vigil: Vigil) -> None:
    await opened(vigil, "new Ranker p99 over 2s")
    await run(vigil, "note 1 rolled back the canary", actor="@carol")
    lines = (await run(vigil, "show 1")).text.splitlines()
    note = next(line for line in lines if "rolled back the canary" in line)
    assert "@carol" in note


# the life cycle, with the clock


async def test_life_cycle_timestamps_come_from_the_clock(vigil: Vigil, clock: FakeClock) -> None:
    t0 = clock.now
    await opened(vigil, "new Embeddings API timing out --service embeddings")

    clock.advance(minutes=3)
    ack = await run(vigil, "ack 1")
    assert not ack.ephemeral
    assert ack.text == (
        "🔵 P4 #1 acknowledged by @alice: Embeddings API timing out. "
        "Next: /incident contain 1 once users are safe, or /incident resolve 1"
    )
    assert ack.incident is not None
    assert ack.incident.state == "acknowledged"
    assert ack.incident.acknowledged_at == t0 + timedelta(minutes=3)

    clock.advance(minutes=4)
    contain = await run(vigil, "contain 1")
    assert contain.text == (
        "🔵 P4 #1 contained by @alice: Embeddings API timing out. "
        "Next: fix the cause, then /incident resolve 1"
    )
    assert contain.incident is not None
    assert contain.incident.state == "contained"
    assert contain.incident.contained_at == t0 + timedelta(minutes=7)
    assert contain.incident.acknowledged_at == t0 + timedelta(minutes=3)  # kept

    clock.advance(minutes=30)
    done = await run(vigil, "resolve 1 scaled the pool back up")
    assert done.text == ("🔵 P4 #1 resolved by @alice: Embeddings API timing out. Done.")
    v = await vigil.incidents.get(1)
    assert v.state == "resolved"
    assert v.resolved_at == t0 + timedelta(minutes=37)
    assert v.acknowledged_at == t0 + timedelta(minutes=3)
    assert v.updated_at == t0 + timedelta(minutes=37)
    assert [(e.at - t0, e.kind, e.text) for e in v.timeline[2:]] == [
        (timedelta(minutes=3), "state", "Acknowledged by @alice"),
        (timedelta(minutes=7), "state", "Contained by @alice"),
        (timedelta(minutes=37), "state", "Resolved by @alice: scaled the pool back up"),
    ]
    assert [e.data for e in v.timeline[2:]] == [
        {"from": "triggered", "to": "acknowledged"},
        {"from": "acknowledged", "to": "contained"},
        {"from": "contained", "to": "resolved"},
    ]


async def test_resolving_a_p1_asks_for_a_post_mortem(vigil: Vigil) -> None:
    await opened(vigil, "new Checkout down --sev P1")
    reply = await run(vigil, "resolve 1")
    assert reply.text.endswith("Next: write the post-mortem")
    assert reply.incident is not None
    assert reply.incident.timeline[-1].text == "Resolved by @alice"


@pytest.mark.parametrize("target", ["contain", "resolve"])
async def test_acting_on_an_unacknowledged_incident_acknowledges_it_too(
    vigil: Vigil, clock: FakeClock, target: str
) -> None:
    await opened(vigil, "new Queue backlog")
    clock.advance(minutes=5)
    v = await opened(vigil, f"{target} 1")
    assert v.acknowledged_at == clock.now


async def test_every_command_lands_on_the_timeline_with_its_actor(
    vigil: Vigil, clock: FakeClock
) -> None:
    steps = [
        ("new Ranker p99 over 2s --sev P3 --model ranker-v3", "@alice"),
        ("ack 1", "@bob"),
        ("assign 1 @carol", "@bob"),
        ("sev 1 P2", "@carol"),
        ("note 1 canary at 10%, rolling back", "@dave"),
        ("contain 1", "@carol"),
        ("resolve 1 rolled back to v2", "@erin"),
    ]
    for text, actor in steps:
        clock.advance(minutes=1)
        reply = await run(vigil, text, actor)
        assert not reply.ephemeral, reply.text
    timeline = (await vigil.incidents.get(1)).timeline
    assert [(e.kind, e.actor) for e in timeline] == [
        ("opened", "@alice"),
        ("severity", "@alice"),
        ("state", "@bob"),
        ("commander", "@bob"),
        ("severity", "@carol"),
        ("note", "@dave"),
        ("state", "@carol"),
        ("state", "@erin"),
        ("postmortem", "vigil"),  # a P2 gets its post-mortem draft when resolved
    ]
    start = timeline[0].at
    minutes = [int((e.at - start).total_seconds() // 60) for e in timeline]
    assert minutes == [0, 0, 1, 2, 3, 4, 5, 6, 6]
    assert timeline[5].text == "canary at 10%, rolling back"


# sev, assign, note


async def test_sev_human_choice_is_recorded_with_who_and_what_it_was(
    vigil: Vigil, clock: FakeClock
) -> None:
    await opened(vigil, "new Ranker p99 over 2s --sev P3")
    clock.advance(minutes=1)
    reply = await run(vigil, "sev 1 sev2", actor="@bob")
    assert not reply.ephemeral
    assert reply.text == (
        "🟠 P2 #1 severity set to P2 by @bob: Ranker p99 over 2s. Next: /incident ack 1"
    )
    v = reply.incident
    assert v is not None
    assert (v.severity, v.severity_source) == ("P2", "human")
    assert (
        v.severity_reason == "P2: set by @bob (was P3: P3: set by @alice when opening the incident)"
    )
    last = v.timeline[-1]
    assert (last.kind, last.actor, last.at) == ("severity", "@bob", clock.now)
    assert last.text == "Severity P3 → P2 set by @bob"
    assert last.data == {"from": "P3", "to": "P2", "source": "human"}


async def test_sev_to_the_severity_it_already_has_changes_nothing_and_says_so(
    vigil: Vigil,
) -> None:
    channel = recorder(vigil)
    await opened(vigil, "new Ranker p99 over 2s --sev P1")
    before = await snapshot(vigil)
    heard = len(channel.announced)
    reply = await run(vigil, "sev 1 p1", actor="@carol")
    assert (reply.text, reply.ephemeral, reply.incident) == (
        "#1 is already P1; nothing changed.",
        True,
        None,
    )
    assert await snapshot(vigil) == before  # no "P1 → P1" on the timeline
    assert len(channel.announced) == heard


async def test_sev_by_a_human_wins_over_the_policy_when_more_alerts_arrive(
    vigil: Vigil, clock: FakeClock
) -> None:
    await vigil.ingestor.ingest(parse_alertmanager(fixture_json("alertmanager-v4-firing.json")))
    assert (await vigil.incidents.get(1)).severity == "P1"
    clock.advance(minutes=1)
    await run(vigil, "sev 1 P3")  # the on-call knows it is a test environment

    clock.advance(minutes=1)
    labels = {
        "alertname": "HighErrorRate",
        "service": "payments",
        "severity": "critical",
        "instance": "pod-2",
    }
    outcomes = await vigil.ingestor.ingest(parse_alertmanager(am_payload(am_alert(labels))))
    assert [(o.incident_id, o.action) for o in outcomes] == [(1, "joined")]
    v = await vigil.incidents.get(1)
    assert (v.severity, v.severity_source) == ("P3", "human")
    assert v.severity_reason.startswith("P3: set by @alice (was P1: ")
    assert len(v.alerts) == 2
    policy = [e for e in v.timeline if e.kind == "policy"]
    assert len(policy) == 1
    assert "/incident sev 1 P1" in policy[0].text


async def test_assign_makes_a_commander_and_records_the_handover(vigil: Vigil) -> None:
    await opened(vigil, "new Ranker p99 over 2s")
    first = await run(vigil, "assign 1 @bob")
    assert not first.ephemeral
    assert first.text.startswith("🔵 P4 #1 commander is now @bob: Ranker p99 over 2s.")
    assert first.incident is not None
    assert first.incident.commander == "@bob"
    assert first.incident.timeline[-1].text == (
        "@bob is now the incident commander (assigned by @alice)"
    )
    second = await opened(vigil, "assign 1 carol", actor="@bob")
    assert second.commander == "@carol"
    assert second.timeline[-1].text == (
        "@carol is now the incident commander (assigned by @bob), taking over from @bob"
    )
    assert second.timeline[-1].data == {"from": "@bob", "to": "@carol"}


async def test_note_is_public_and_keeps_the_text_verbatim(vigil: Vigil) -> None:
    await opened(vigil, "new Ranker p99 over 2s")
    reply = await run(vigil, 'note #1   p99 back   under 1.5s — "watching"')
    assert not reply.ephemeral
    assert reply.text == '📝 Note added to #1 by @alice: p99 back   under 1.5s — "watching"'
    assert reply.incident is not None
    assert reply.incident.timeline[-1].text == 'p99 back   under 1.5s — "watching"'
    assert reply.incident.state == "triggered"  # a note changes no state


# help


async def test_help_lists_every_subcommand_privately(vigil: Vigil) -> None:
    reply = await run(vigil, "help")
    assert reply.ephemeral
    for usage in USAGE.values():
        assert usage in reply.text


@pytest.mark.parametrize("text", ["help ack", "ack --help", "HELP Ack"])
async def test_help_for_one_subcommand(vigil: Vigil, text: str) -> None:
    reply = await run(vigil, text)
    assert reply.ephemeral
    assert reply.text.splitlines() == [
        USAGE["ack"],
        "    acknowledge: you are on it",
        "N is an incident number: 12 or #12.",
    ]


# illegal transitions


@pytest.mark.parametrize(
    ("setup", "refused", "message"),
    [
        (["ack 1"], "ack 1", "Incident #1 is already acknowledged."),
        (["contain 1"], "contain 1", "Incident #1 is already contained."),
        (["resolve 1"], "resolve 1", "Incident #1 is already resolved."),
        (["resolve 1"], "resolve 1 again, with a note", "Incident #1 is already resolved."),
        (["resolve 1"], "contain 1", "Cannot contain incident #1: it is resolved."),
        (["resolve 1"], "ack 1", "Cannot acknowledge incident #1: it is resolved."),
        (["contain 1"], "ack 1", "Cannot acknowledge incident #1: it is contained."),
    ],
)
async def test_illegal_transitions_are_refused_naming_the_state_and_change_nothing(
    vigil: Vigil, clock: FakeClock, setup: list[str], refused: str, message: str
) -> None:
    await opened(vigil, "new Ranker p99 over 2s --sev P2")
    for text in setup:
        await opened(vigil, text)
    channel = recorder(vigil)
    clock.advance(minutes=10)
    reply = await assert_refused_and_nothing_changed(vigil, refused, channel)
    assert reply.text.startswith("⚠️ " + message)
    state = (await vigil.incidents.get(1)).state
    assert state in reply.text


# malformed input


@pytest.mark.parametrize(
    ("text", "sub"),
    [
        ("ack", "ack"),
        ("ack abc", "ack"),
        ("ack 0", "ack"),
        ("ack -1", "ack"),
        ("ack 1 2", "ack"),
        ("sev 1 P7", "sev"),
        ("sev 1", "sev"),
        ("sev one P1", "sev"),
        ("new", "new"),
        ("new --sev P1", "new"),
        ("new Ranker slow --sev P9", "new"),
        ("new Ranker slow --service a --model b", "new"),
        ("new Ranker slow --owner bob", "new"),
        ("assign 1", "assign"),
        ("assign 1 @bob @carol", "assign"),
        ("note 1", "note"),
        ("show", "show"),
        ("show 1 please", "show"),
        ("contain 1 now", "contain"),
        ("resolve x", "resolve"),
        ("list open", "list"),
        ("help ack resolve", "help"),
    ],
)
async def test_malformed_input_answers_with_the_subcommands_usage_and_changes_nothing(
    vigil: Vigil, text: str, sub: str
) -> None:
    await opened(vigil, "new Ranker p99 over 2s --sev P2")
    channel = recorder(vigil)
    reply = await assert_refused_and_nothing_changed(vigil, text, channel)
    assert reply.text.endswith("\nUsage: " + USAGE[sub])
    assert len(reply.text.splitlines()) == 2  # what was wrong, then how to write it


@pytest.mark.parametrize("text", ["frobnicate", "frobnicate 1", "--sev P1"])
async def test_unknown_subcommand_answers_with_every_usage_line(vigil: Vigil, text: str) -> None:
    await opened(vigil, "new Ranker p99 over 2s")
    channel = recorder(vigil)
    reply = await assert_refused_and_nothing_changed(vigil, text, channel)
    assert f"Unknown subcommand '{text.split()[0]}'." in reply.text
    assert reply.text.endswith("\nUsage: " + ALL_USAGE)


async def test_a_typo_in_the_subcommand_gets_a_suggestion(vigil: Vigil) -> None:
    await opened(vigil, "new Ranker p99 over 2s")
    channel = recorder(vigil)
    reply = await assert_refused_and_nothing_changed(vigil, "resolv 1", channel)
    assert "Did you mean 'resolve'?" in reply.text
    assert (await vigil.incidents.get(1)).state == "triggered"


# unknown incident


@pytest.mark.parametrize(
    "text",
    [
        "show 999",
        "ack 999",
        "sev 999 P1",
        "assign 999 @bob",
        "note 999 hello",
        "contain 999",
        "resolve 999 done",
    ],
)
async def test_unknown_incident_is_a_clear_private_message_and_changes_nothing(
    vigil: Vigil, text: str
) -> None:
    await opened(vigil, "new Ranker p99 over 2s")
    channel = recorder(vigil)
    reply = await assert_refused_and_nothing_changed(vigil, text, channel)
    assert reply.text == "⚠️ There is no incident #999. `/incident list --all` shows them all."


@pytest.mark.parametrize("number", ["2147483648", "999999999999999999"])
@pytest.mark.parametrize("sub", ["show {}", "ack {}", "sev {} P1", "note {} x", "resolve {}"])
async def test_an_incident_number_beyond_any_id_is_unknown_not_an_internal_error(
    vigil: Vigil, sub: str, number: str
) -> None:
    await opened(vigil, "new Ranker p99 over 2s")
    channel = recorder(vigil)
    reply = await assert_refused_and_nothing_changed(vigil, sub.format(number), channel)
    assert reply.text.startswith(f"⚠️ There is no incident #{number}.")


# hand-opened incidents and alerts


async def test_a_hand_opened_incident_never_absorbs_alerts(vigil: Vigil, clock: FakeClock) -> None:
    human = await opened(vigil, "new Payments 5xx spike --sev P2 --service payments")
    assert human.group_key == "manual:service=payments"
    clock.advance(minutes=1)

    payload = fixture_json("alertmanager-v4-firing.json")  # service=payments too
    outcomes = await vigil.ingestor.ingest(parse_alertmanager(payload))
    assert [(o.incident_id, o.action) for o in outcomes] == [(2, "opened")]

    # A second alert of the same group joins the alert's incident, not the human's.
    labels = {**payload["alerts"][0]["labels"], "instance": "pod-7"}
    more = await vigil.ingestor.ingest(parse_alertmanager(am_payload(am_alert(labels))))
    assert [(o.incident_id, o.action) for o in more] == [(2, "joined")]

    assert await vigil.incidents.get(1) == human  # untouched: no alerts, same timeline
    alert_incident = await vigil.incidents.get(2)
    assert alert_incident.group_key == 'alertname="HighErrorRate",service="payments"'
    assert len(alert_incident.alerts) == 2


async def test_two_hand_opened_incidents_for_one_service_stay_apart(vigil: Vigil) -> None:
    a = await opened(vigil, "new Payments slow --service payments")
    b = await opened(vigil, "new Payments refunds failing --service payments")
    assert (a.id, b.id) == (1, 2)
    assert [v.id for v in await vigil.incidents.list()] == [2, 1]


# failures underneath


async def drop_timeline_table(vigil: Vigil) -> None:
    """Make every later write fail inside its transaction, after the state has been changed."""
    async with vigil.db.session() as s, s.begin():
        await s.exec(sql("DROP TABLE timeline_events"))  # type: ignore[call-overload]


async def test_a_database_failure_mid_command_is_a_private_message_and_changes_nothing(
    vigil: Vigil, caplog: pytest.LogCaptureFixture
) -> None:
    await opened(vigil, "new Ranker p99 over 2s")
    channel = recorder(vigil)
    await drop_timeline_table(vigil)

    with caplog.at_level(logging.ERROR, logger="bot.chat.commands.run"):
        ack = await run(vigil, "ack 1")
        note = await run(vigil, "note 1 rolled back")
    for reply in (ack, note):
        assert reply.ephemeral
        assert reply.incident is None
        assert reply.text.startswith("⚠️ Vigil hit an internal error and changed nothing.")
    assert channel.announced == []
    async with vigil.db.session() as s, s.begin():
        result = await s.exec(  # type: ignore[call-overload]
            sql("SELECT state, acknowledged_at FROM incidents WHERE id = 1")
        )
        row = tuple(result.one())
    assert row == ("triggered", None)  # the acknowledgement was rolled back with the event
    assert [r.getMessage() for r in caplog.records] == [
        "command failed: /incident ack",
        "command failed: /incident note",
    ]
    assert all(r.exc_info is not None for r in caplog.records)


async def test_typed_text_does_not_reach_the_log_when_a_command_fails(
    vigil: Vigil, caplog: pytest.LogCaptureFixture
) -> None:
    await opened(vigil, "new Ranker p99 over 2s")
    await drop_timeline_table(vigil)
    with caplog.at_level(logging.ERROR):
        reply = await run(vigil, "note 1 customer acme-corp, token sk-live-hunter2")
    assert reply.text.startswith("⚠️ Vigil hit an internal error")
    assert "hunter2" not in caplog.text


async def test_a_failing_chat_backend_does_not_undo_the_command(vigil: Vigil) -> None:
    async def broken(change: Change) -> None:
        raise ConnectionError("chat is down")

    vigil.notifier.subscribe(broken)
    channel = recorder(vigil)  # subscribed after the broken one: must still hear
    reply = await run(vigil, "new Ranker p99 over 2s --sev P2")
    assert not reply.ephemeral
    assert reply.text.startswith("🟠 P2 #1 opened by @alice")
    ack = await run(vigil, "ack 1")
    assert ack.incident is not None
    assert (await vigil.incidents.get(1)).state == "acknowledged"
    assert len(channel.announced) == 2
