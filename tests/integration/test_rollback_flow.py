"""``/rollback``, ``/incident contain N --pin`` and ``/incident retrain N`` end to end.

Text in through ``vigil.commands`` (and the console), the built-in registry and the incident
timeline checked in the real database, on SQLite and PostgreSQL. Refusals must answer the
caller alone and leave the registry, the incidents and their timelines exactly as they were.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.chat.commands.run import Reply
from bot.chat.console import ConsoleBackend
from bot.core.errors import ConfigError
from bot.incidents.views import IncidentView
from bot.playbooks.history import RunLog
from bot.registry.base import VersionInfo
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.support import FakeClock

M = "fraud-scorer"
ALICE = "@alice"
TITLE = "Accuracy below SLA on fraud-scorer"


async def three_versions(vigil: Vigil, clock: FakeClock) -> None:
    """v1, v2, v3 each promoted in turn: v3 serves, v2 is the last known good."""
    await vigil.registry.register(M, "v1", stage="stable", actor="@ops")
    for version in ("v2", "v3"):
        clock.advance(minutes=5)
        await vigil.registry.register(M, version, actor="@ops")
        await vigil.registry.promote(M, version, actor="@ops")


async def incident(vigil: Vigil, model: str | None = M) -> IncidentView:
    reply = await vigil.commands.run_incident(
        f'new "{TITLE}" --sev P1' + (f" --model {model}" if model else ""), actor="@vigil"
    )
    assert reply.incident is not None, reply.text
    return reply.incident


async def rollback(vigil: Vigil, text: str) -> Reply:
    return await vigil.commands.run_rollback(text, actor=ALICE)


async def incident_cmd(vigil: Vigil, text: str) -> Reply:
    return await vigil.commands.run_incident(text, actor=ALICE)


async def versions(vigil: Vigil) -> list[VersionInfo]:
    return await vigil.registry.versions(M)


async def everything(vigil: Vigil) -> tuple[Any, ...]:
    """The registry (versions and history) and every incident with its timeline."""
    models = await vigil.registry.models()
    return (
        [await vigil.registry.versions(m) for m in models],
        [await vigil.registry.history(m) for m in models],
        await vigil.incidents.list(include_closed=True),
    )


def playbook_lines(view: IncidentView) -> list[str]:
    return [e.text for e in view.timeline if e.kind == "playbook"]


async def stable(vigil: Vigil) -> str | None:
    info = await vigil.registry.stable(M)
    return info.version if info else None


# --- /rollback -----------------------------------------------------------------------------


async def test_rollback_for_an_incident_restores_the_last_known_good_and_logs_each_step(
    vigil: Vigil, clock: FakeClock
) -> None:
    await three_versions(vigil, clock)
    await incident(vigil)
    reply = await rollback(vigil, f"{M} --incident 1")
    assert not reply.ephemeral
    assert reply.text.splitlines()[0] == (
        "⏪ fraud-scorer rolled back: v3 → v2 (last known good) by @alice. "
        "Next: watch accuracy; /incident resolve 1 when it recovers."
    )
    assert await stable(vigil) == "v2"
    view = await vigil.incidents.get(1)
    switched = (
        "Rollback of fraud-scorer: v2 replaced v3 as stable (v2 is the last known good version)."
    )
    assert playbook_lines(view) == [
        "rollback step 1/3 'announce' ok: Rolling back fraud-scorer (incident #1)",
        f"rollback step 2/3 'rollback' ok: {switched}",
        f"rollback step 3/3 'result' ok: {switched}",
    ]
    steps = [e for e in view.timeline if e.kind == "playbook"]
    assert {e.actor for e in steps} == {ALICE}
    [run_id] = {e.data["run_id"] for e in steps}
    log = RunLog(vigil.db)
    run = await log.run(run_id)
    assert run is not None
    assert (run.playbook, run.status, run.incident_id, run.dry_run) == ("rollback", "ok", 1, False)
    assert [(s.position, s.status) for s in await log.steps(run_id)] == [
        (1, "ok"),
        (2, "ok"),
        (3, "ok"),
    ]
    # The model that broke no longer serves: the incident is contained (escalation stops,
    # and the post-mortem counts the time to contain from here).
    assert view.state == "contained"
    assert view.contained_at == clock()
    assert [e.text for e in view.timeline if e.kind == "state"] == [
        f"Contained by {ALICE}: {switched}"
    ]


async def test_rollback_to_a_named_version_without_an_incident_says_how_to_undo(
    vigil: Vigil, clock: FakeClock
) -> None:
    await three_versions(vigil, clock)
    reply = await rollback(vigil, f"{M} v1")
    assert reply.text == (
        "⏪ fraud-scorer rolled back: v3 → v1 by @alice. "
        "Next: watch accuracy; to undo, `vigil model promote fraud-scorer v3`."
    )
    assert await stable(vigil) == "v1"


async def test_rollback_pauses_canaries_and_says_so(vigil: Vigil, clock: FakeClock) -> None:
    await three_versions(vigil, clock)
    await vigil.registry.register(M, "v4", stage="canary", traffic=10, actor="@ops")
    reply = await rollback(vigil, M)
    assert reply.text.splitlines()[1] == "Paused canary v4."
    assert {v.version: (v.stage, v.traffic_percent) for v in await versions(vigil)} == {
        "v1": ("shadow", 0),
        "v2": ("stable", 100),
        "v3": ("shadow", 0),
        "v4": ("shadow", 0),
    }


async def test_two_rollbacks_step_back_one_version_each(vigil: Vigil, clock: FakeClock) -> None:
    await three_versions(vigil, clock)
    await rollback(vigil, M)
    reply = await rollback(vigil, M)
    assert reply.text.startswith("⏪ fraud-scorer rolled back: v2 → v1 (last known good)")
    assert await stable(vigil) == "v1"


async def test_dry_run_says_what_would_happen_and_changes_nothing(
    vigil: Vigil, clock: FakeClock
) -> None:
    await three_versions(vigil, clock)
    await incident(vigil)
    before = await everything(vigil)
    reply = await rollback(vigil, f"{M} --incident 1 --dry-run")
    assert reply.ephemeral
    assert reply.text == (
        "Dry run: would replace v3 with v2 on fraud-scorer. Nothing changed. "
        "Next: /rollback fraud-scorer --incident 1 to do it."
    )
    assert await everything(vigil) == before


async def test_a_model_with_no_earlier_version_is_refused_and_nothing_changes(
    vigil: Vigil,
) -> None:
    await vigil.registry.register(M, "v1", stage="stable", actor="@ops")
    await vigil.registry.register(M, "v2", actor="@ops")  # registered, never promoted
    await incident(vigil)
    before = await everything(vigil)
    reply = await rollback(vigil, f"{M} --incident 1")
    assert reply.ephemeral
    assert reply.text == (
        "⚠️ No earlier stable version of fraud-scorer to roll back to; v1 is the only "
        "version ever promoted (v2 (shadow)). Nothing changed."
    )
    assert await everything(vigil) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "nope",
            "⚠️ The registry has no model 'nope'. Known models: fraud-scorer. Nothing changed.",
        ),
        (f"{M} v9", "⚠️ fraud-scorer has no version 'v9'."),
        (f"{M} v3", "⚠️ fraud-scorer v3 is already the stable version. Nothing changed."),
        (f"{M} --incident 99", "⚠️ There is no incident #99."),
        (f"{M} --incident", "⚠️ --incident needs an incident number.\nUsage: /rollback MODEL"),
        (f"{M} --force", "⚠️ Unknown option '--force'; /rollback accepts --incident N"),
        ("", "/rollback MODEL [VERSION] [--incident N] [--dry-run]\n    Make the last known"),
    ],
    ids=[
        "unknown-model",
        "unknown-version",
        "already-stable",
        "unknown-incident",
        "no-number",
        "bad-option",
        "help",
    ],
)
async def test_bad_rollbacks_answer_privately_and_change_nothing(
    vigil: Vigil, clock: FakeClock, text: str, message: str
) -> None:
    await three_versions(vigil, clock)
    await incident(vigil)
    before = await everything(vigil)
    reply = await rollback(vigil, text)
    assert reply.ephemeral
    assert reply.text.startswith(message), reply.text
    assert await everything(vigil) == before


async def test_a_rollback_that_switched_but_whose_last_step_failed_says_both(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path, trainer: Trainer
) -> None:
    trainer.status = 500
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / "rollback.yaml").write_text(
        "steps:\n"
        "  - action: registry.rollback\n"
        "    params: {model: '{{ model }}', to_version: '{{ version }}'}\n"
        "  - name: tell the serving layer\n"
        "    action: http.post\n"
        f"    params: {{url: '{trainer.url}', json: {{incident: '{{{{ incident }}}}'}}}}\n"
    )
    vigil = await make_vigil(playbooks_dir=tmp_path / "books")
    assert sorted(vigil.playbooks.playbooks) == ["containment", "retrain", "rollback"]
    await three_versions(vigil, clock)
    await incident(vigil)
    reply = await rollback(vigil, f"{M} --incident 1")
    lines = reply.text.splitlines()
    assert lines[0].startswith("⏪ fraud-scorer rolled back: v3 → v2 (last known good)")
    assert lines[1] == (
        "⚠️ Playbook rollback: step 2 'tell the serving layer' failed: "
        f"POST to {trainer.url} returned 500, expected 200 or 201 or 202 or 204."
    )
    assert playbook_lines(await vigil.incidents.get(1))[-1].startswith(
        "rollback step 2/2 'tell the serving layer' failed: POST"
    )
    assert await stable(vigil) == "v2"


# --- /incident contain N --pin -------------------------------------------------------------


async def test_contain_with_pin_pins_the_last_known_good_and_marks_contained(
    vigil: Vigil, clock: FakeClock
) -> None:
    await three_versions(vigil, clock)
    await vigil.registry.register(M, "v4", stage="canary", traffic=10, actor="@ops")
    await incident(vigil)
    clock.advance(minutes=3)
    reply = await incident_cmd(vigil, "contain 1 --pin")
    assert not reply.ephemeral
    lines = reply.text.splitlines()
    assert lines[0] == (
        f"🔴 P1 #1 contained by @alice, traffic pinned to v2: {TITLE}. "
        "Next: fix the cause, then /incident resolve 1"
    )
    pinned = "Traffic pinned on fraud-scorer: v2 replaced v3 as stable; canary paused: v4."
    assert lines[1] == pinned
    assert {v.version: (v.stage, v.traffic_percent) for v in await versions(vigil)} == {
        "v1": ("shadow", 0),
        "v2": ("stable", 100),
        "v3": ("shadow", 0),
        "v4": ("shadow", 0),
    }
    view = await vigil.incidents.get(1)
    assert view.state == "contained"
    assert view.contained_at == clock.now
    assert playbook_lines(view)[0] == f"containment step 1/3 'pin traffic' ok: {pinned}"
    assert len(playbook_lines(view)) == 3
    assert view.timeline[-1].kind == "state"
    assert view.timeline[-1].text == f"Contained by @alice: {pinned}"
    assert view.timeline[-1].data["to"] == "contained"


async def test_right_after_a_rollback_pin_holds_the_good_version_and_a_second_says_why_not(
    vigil: Vigil, clock: FakeClock
) -> None:
    """The rollback put v2 back: a second incident's pin holds v2 (the good version is the
    one serving), and a second /rollback says v2 is the last known good one (it used to say
    "v2 is the only version ever promoted", though v3 had been)."""
    await promoted_pair(vigil, clock)
    await incident(vigil)
    assert not (await rollback(vigil, f"{M} --incident 1")).ephemeral
    second = await incident(vigil)
    reply = await incident_cmd(vigil, f"contain {second.id} --pin")
    assert reply.text.splitlines()[0].startswith(
        f"🔴 P1 #{second.id} contained by @alice, traffic pinned to v2"
    ), reply.text
    assert (await vigil.incidents.get(second.id)).state == "contained"
    again = await rollback(vigil, M)
    assert again.ephemeral
    assert again.text.startswith(
        "⚠️ No earlier stable version of fraud-scorer to roll back to: v2 serves because v3 "
        "was rolled back, so v2 is the last known good version."
    ), again.text


async def promoted_pair(vigil: Vigil, clock: FakeClock) -> None:
    for version in ("v2", "v3"):
        await vigil.registry.register(M, version, actor="@ci")
        await vigil.registry.promote(M, version, actor="@ci")
        clock.advance(minutes=5)


async def test_a_failed_containment_leaves_the_state_alone_and_says_what_to_do(
    vigil: Vigil,
) -> None:
    await vigil.registry.register(M, "v1", stage="stable", actor="@ops")
    await incident(vigil)
    before = await vigil.registry.versions(M)
    reply = await incident_cmd(vigil, "contain 1 --pin")
    assert not reply.ephemeral  # the attempt is on the timeline: the team should know
    assert reply.text.splitlines()[0] == (
        "⚠️ Containment of #1 failed, so it is still triggered: Playbook containment: step 1 "
        "'pin traffic' failed: No earlier stable version of fraud-scorer to roll back to; "
        "it has only v1; steps 2\u20133 not run."
    )
    view = await vigil.incidents.get(1)
    assert view.state == "triggered"
    assert view.contained_at is None
    assert playbook_lines(view) == [
        "containment step 1/3 'pin traffic' failed: No earlier stable version of "
        "fraud-scorer to roll back to; it has only v1; steps 2\u20133 not run"
    ]
    assert await vigil.registry.versions(M) == before


@pytest.mark.parametrize(
    ("setup", "model", "message"),
    [
        ([], None, "⚠️ Incident #1 names no model, so Vigil cannot pin its traffic."),
        (["resolve 1"], M, "⚠️ Cannot contain incident #1: it is resolved."),
        (["contain 1"], M, "⚠️ Incident #1 is already contained."),
    ],
    ids=["no-model", "resolved", "already-contained"],
)
async def test_contain_with_pin_refuses_before_touching_the_registry(
    vigil: Vigil, clock: FakeClock, setup: list[str], model: str | None, message: str
) -> None:
    await three_versions(vigil, clock)
    await incident(vigil, model)
    for text in setup:
        await incident_cmd(vigil, text)
    before = await everything(vigil)
    reply = await incident_cmd(vigil, "contain 1 --pin")
    assert reply.ephemeral
    assert reply.text.startswith(message), reply.text
    assert await everything(vigil) == before


async def test_plain_contain_is_still_only_a_state_change(vigil: Vigil, clock: FakeClock) -> None:
    await three_versions(vigil, clock)
    await incident(vigil)
    before = await versions(vigil)
    reply = await incident_cmd(vigil, "contain 1")
    assert reply.text.startswith("🔴 P1 #1 contained by @alice: ")
    assert await versions(vigil) == before
    assert playbook_lines(await vigil.incidents.get(1)) == []


# --- /incident retrain N -------------------------------------------------------------------


class Trainer:
    """A stand-in training service on 127.0.0.1: answers ``status``, keeps what it got."""

    def __init__(self) -> None:
        self.status = 202
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((await request.json(), request.headers.get("Authorization")))
        return web.json_response({}, status=self.status)


@pytest.fixture
async def trainer() -> AsyncIterator[Trainer]:
    t = Trainer()
    app = web.Application()
    app.router.add_post("/retrain", t.handle)
    async with TestServer(app, host="127.0.0.1") as server:
        t.url = str(server.make_url("/retrain"))
        yield t


async def test_retrain_posts_the_model_and_incident_to_the_training_service(
    make_vigil: MakeVigil, trainer: Trainer
) -> None:
    vigil = await make_vigil(retrain_url=trainer.url)
    await incident(vigil)
    reply = await incident_cmd(vigil, "retrain 1")
    assert not reply.ephemeral
    assert reply.text == (
        f"🔁 Retraining of fraud-scorer requested for #1 by @alice (POST to {trainer.url} "
        "returned 202). Next: when the new version is registered, canary it: "
        "`vigil model canary fraud-scorer VERSION 5`."
    )
    assert trainer.received == [
        ({"model": M, "incident": 1, "reason": "requested by Vigil for incident #1"}, None)
    ]
    view = await vigil.incidents.get(1)
    assert playbook_lines(view) == [
        f"retrain step 1/2 'request retraining' ok: POST to {trainer.url} returned 202",
        f"retrain step 2/2 'note' ok: Retraining of fraud-scorer requested: POST to "
        f"{trainer.url} returned 202",
    ]
    assert view.state == "triggered"


async def test_retrain_credentials_in_the_url_never_reach_chat_or_the_timeline(
    make_vigil: MakeVigil, trainer: Trainer
) -> None:
    secret_url = trainer.url.replace("http://", "http://bot:hunter2@") + "?token=s3cr3t"
    vigil = await make_vigil(retrain_url=secret_url)
    await incident(vigil)
    reply = await incident_cmd(vigil, "retrain 1")
    assert reply.text.startswith("🔁 Retraining of fraud-scorer requested"), reply.text
    assert trainer.received[0][1] is not None  # the credentials were sent, as Basic auth
    seen = reply.text + repr(await vigil.incidents.get(1)) + repr(vigil.settings)
    assert "hunter2" not in seen
    assert "s3cr3t" not in seen


async def test_a_failing_training_service_is_reported_and_changes_no_state(
    make_vigil: MakeVigil, trainer: Trainer
) -> None:
    trainer.status = 500
    vigil = await make_vigil(retrain_url=trainer.url)
    await incident(vigil)
    reply = await incident_cmd(vigil, "retrain 1")
    assert reply.text.splitlines()[0] == (
        "⚠️ Retraining of fraud-scorer for #1 was not requested: Playbook retrain: step 1 "
        f"'request retraining' failed: POST to {trainer.url} returned 500, expected 202 or "
        "200; step 2 not run."
    )
    assert (await vigil.incidents.get(1)).state == "triggered"


async def test_retrain_without_retrain_url_names_the_key_and_sends_nothing(vigil: Vigil) -> None:
    await incident(vigil)
    before = await everything(vigil)
    reply = await incident_cmd(vigil, "retrain 1")
    assert reply.ephemeral
    assert reply.text == (
        "⚠️ Retraining is not set up: set retrain_url in vigil.yaml to your training "
        "service's endpoint (see vigil.example.yaml). Nothing was sent."
    )
    assert await everything(vigil) == before


# --- the console and start-up --------------------------------------------------------------


async def test_the_console_runs_rollback_and_the_new_incident_subcommands(
    vigil: Vigil, clock: FakeClock
) -> None:
    await three_versions(vigil, clock)
    await incident(vigil)
    console = ConsoleBackend(
        vigil.commands, reader=asyncio.StreamReader(), out=io.StringIO(), user=ALICE
    )
    dry = await console.handle_line("rollback fraud-scorer --dry-run")
    assert dry == (
        "(only you) Dry run: would replace v3 with v2 on fraud-scorer. Nothing changed. "
        "Next: /rollback fraud-scorer to do it."
    )
    done = await console.handle_line("/rollback fraud-scorer --incident 1")
    assert done is not None
    assert done.startswith("⏪ fraud-scorer rolled back: v3 → v2 (last known good) by @alice.")
    assert await stable(vigil) == "v2"
    help_text = await console.handle_line("/rollback help")
    assert help_text is not None
    assert help_text.startswith("(only you) /rollback MODEL [VERSION]")
    retrain = await console.handle_line("retrain 1")  # a bare subcommand, as for "ack 1"
    assert retrain is not None
    assert "retrain_url" in retrain


async def test_a_broken_playbook_stops_start_up_naming_file_and_field(
    make_vigil: MakeVigil, tmp_path: Path
) -> None:
    books = tmp_path / "books"
    books.mkdir()
    (books / "rollback.yaml").write_text("steps:\n  - action: registry.rollback\n")
    with pytest.raises(ConfigError) as caught:
        await make_vigil(playbooks_dir=books)
    assert str(caught.value) == (
        f"{books / 'rollback.yaml'}: steps[0].params.model: required by registry.rollback"
    )
    with pytest.raises(ConfigError) as missing:
        await make_vigil(playbooks_dir=tmp_path / "nowhere")
    assert "playbooks_dir: no such directory" in str(missing.value)
