"""Slack Block Kit renderings: what a responder sees first, which buttons a state offers,
that user text cannot ping anyone, and that nothing Slack would reject is ever produced.

Views are built by hand and the blocks are plain dicts, so these tests need no Slack, no
database and no network.
"""

from __future__ import annotations

import ast
import html
import importlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bot.chat.commands.spec import help_text
from bot.chat.slack import modals
from bot.chat.slack.blocks.actions import (
    ACK,
    ACTIONS,
    CONFIRM,
    CONTAIN,
    ESCALATE,
    RESOLVE,
    ROLLBACK,
    ROLLBACK_CANCEL,
    ROLLBACK_CONFIRM,
)
from bot.chat.slack.blocks.card import incident_card, summary
from bot.chat.slack.blocks.kit import FALLBACK_TEXT_MAX, MESSAGE_BLOCKS_MAX
from bot.chat.slack.blocks.page import page_message
from bot.chat.slack.blocks.replies import confirmable, ephemeral, reply_blocks, rollback_confirm
from bot.chat.slack.blocks.thread import timeline_reply
from bot.chat.slack.modals import (
    DESCRIPTION_BLOCK,
    MODEL_BLOCK,
    NEW_INCIDENT_CALLBACK,
    SERVICE_BLOCK,
    SEVERITY_BLOCK,
    TITLE_BLOCK,
    new_incident_modal,
    parse_new_incident_submission,
)
from bot.incidents.views import AlertView, EventView, IncidentView

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
SLACK = Path(__file__).resolve().parents[2] / "bot" / "chat" / "slack"


def alert(n: int = 1, *, title: str = "HighErrorRate", status: str = "firing") -> AlertView:
    return AlertView(
        id=n,
        fingerprint=f"fp{n}",
        status=status,
        title=title,
        source="alertmanager",
        labels={},
        annotations={},
        value=0.075,
        severity_hint=None,
        generator_url=None,
        starts_at=T0,
        ends_at=None,
        first_seen=T0,
        last_seen=T0,
        count=3,
    )


def view(**changes: Any) -> IncidentView:
    base = IncidentView(
        id=7,
        title="Ranker p99 over 2s",
        severity="P1",
        severity_reason="P1: latency 2.4s > 2s on service ranker",
        severity_source="policy",
        state="triggered",
        commander=None,
        service="ranker",
        model=None,
        group_key="alertname=RankerLatency,service=ranker",
        created_by="alertmanager",
        created_at=T0,
        updated_at=T0,
        acknowledged_at=None,
        contained_at=None,
        resolved_at=None,
        alerts=(alert(),),
    )
    return replace(base, **changes)


def event(kind: str = "state", text: str = "Acknowledged by @sam", **changes: Any) -> EventView:
    base = EventView(at=T0 + timedelta(minutes=5), kind=kind, actor="@sam", text=text, data={})
    return replace(base, **changes)


# -- helpers that read blocks the way Slack would ---------------------------------------


def walk(node: object) -> list[dict[str, Any]]:
    """Every dict inside ``node``, depth first."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(walk(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(walk(value))
    return found


def mrkdwn_texts(node: object) -> list[str]:
    return [d["text"] for d in walk(node) if d.get("type") == "mrkdwn"]


def buttons(block_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in walk(block_list) if d.get("type") == "button"]


def action_ids(block_list: list[dict[str, Any]]) -> list[str]:
    return [b["action_id"] for b in buttons(block_list)]


def assert_within_slack_limits(block_list: list[dict[str, Any]]) -> None:
    """The limits Slack enforces by rejecting the whole message."""
    assert len(block_list) <= MESSAGE_BLOCKS_MAX
    json.dumps(block_list)  # Slack takes JSON: no datetimes, tuples of sets, etc.
    for block in block_list:
        kind = block["type"]
        if kind == "header":
            assert block["text"]["type"] == "plain_text"
            assert len(block["text"]["text"]) <= 150
        elif kind == "section":
            if "text" in block:
                assert 1 <= len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
            for field in block.get("fields", []):
                assert 1 <= len(field["text"]) <= 2000
        elif kind == "context":
            assert 1 <= len(block["elements"]) <= 10
            for element in block["elements"]:
                assert 1 <= len(element["text"]) <= 3000
        elif kind == "actions":
            assert 1 <= len(block["elements"]) <= 25
        else:
            pytest.fail(f"unexpected block type {kind}")
    for button in buttons(block_list):
        assert len(button["text"]["text"]) <= 75
        assert len(button["value"]) <= 2000
        assert len(button["action_id"]) <= 255
        if "confirm" in button:
            dialog = button["confirm"]
            assert len(dialog["title"]["text"]) <= 100
            assert len(dialog["text"]["text"]) <= 300
            assert len(dialog["confirm"]["text"]) <= 30
            assert len(dialog["deny"]["text"]) <= 30


# -- the incident card ------------------------------------------------------------------


def test_card_first_line_says_how_bad_which_what_and_next() -> None:
    text, card = incident_card(view())
    assert text == "🔴 P1 #7 Ranker p99 over 2s · triggered · 1 alert firing. Next: /incident ack 7"
    assert card[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "🔴 P1 #7 Ranker p99 over 2s", "emoji": True},
    }
    assert "Next: /incident ack 7" in card[1]["text"]["text"]


def test_card_fields_and_why() -> None:
    _, card = incident_card(view(severity="P2", severity_reason="P2: drift 0.4 > 0.3"))
    fields = [f["text"] for f in card[1]["fields"]]
    assert fields == [
        "*State*\ntriggered",
        "*Severity*\n🟠 P2",
        "*Commander*\nunassigned — /incident assign 7 @you",
        "*Service*\nranker",
    ]
    # the reason's own "P2: " prefix is not repeated, and its ">" is escaped
    assert "Why P2: drift 0.4 &gt; 0.3" in mrkdwn_texts(card)


def test_card_shows_model_and_service_when_both_are_known() -> None:
    _, card = incident_card(view(model="fraud-scorer"))
    fields = [f["text"] for f in card[1]["fields"]]
    assert fields[-2:] == ["*Service*\nranker", "*Model*\nfraud-scorer"]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("triggered", [ACK, ESCALATE, CONTAIN, RESOLVE]),
        ("acknowledged", [ESCALATE, CONTAIN, RESOLVE]),
        ("contained", [ESCALATE, RESOLVE]),
        ("resolved", []),
        ("postmortem", []),
    ],
)
def test_card_offers_only_the_buttons_the_state_allows(state: str, expected: list[str]) -> None:
    _, card = incident_card(view(state=state, model="fraud-scorer"))
    ids = action_ids(card)
    if expected:
        assert ids == [*expected, ROLLBACK]  # roll back: open and a model is known
    else:
        assert ids == []
        assert all(b["type"] != "actions" for b in card)
    for button in buttons(card):
        if button["action_id"] != ROLLBACK:
            assert button["value"] == "7"


def test_acknowledge_is_the_primary_button() -> None:
    _, card = incident_card(view())
    ack = next(b for b in buttons(card) if b["action_id"] == ACK)
    assert (ack["text"]["text"], ack["style"]) == ("Acknowledge", "primary")


def test_roll_back_appears_only_when_the_incident_has_a_model() -> None:
    _, without = incident_card(view(model=None))
    assert ROLLBACK not in action_ids(without)
    _, card = incident_card(view(model="fraud-scorer"))
    button = next(b for b in buttons(card) if b["action_id"] == ROLLBACK)
    assert button["style"] == "danger"
    assert json.loads(button["value"]) == {"incident": 7, "model": "fraud-scorer"}
    assert button["confirm"]["text"]["text"] == (
        "Roll back fraud-scorer to its last known good version?"
    )
    assert button["confirm"]["style"] == "danger"


def test_roll_back_dialog_names_the_versions_it_swaps() -> None:
    _, card = incident_card(view(model="fraud-scorer"), rollback_to=("v3", "v2"))
    button = next(b for b in buttons(card) if b["action_id"] == ROLLBACK)
    assert button["confirm"]["text"]["text"] == "Replace v3 with v2 on fraud-scorer?"
    assert json.loads(button["value"]) == {
        "incident": 7,
        "model": "fraud-scorer",
        "from_version": "v3",
        "to_version": "v2",
    }


def test_what_fired_lists_five_alerts_then_a_count() -> None:
    alerts = tuple(alert(n, title=f"Alert{n}") for n in range(60))
    _, card = incident_card(view(alerts=alerts))
    fired = next(t for t in mrkdwn_texts(card) if t.startswith("*What fired*"))
    lines = fired.splitlines()
    assert lines[1] == "• *Alert0* — value 0.075 · seen 3 times"
    assert len(lines) == 1 + 5 + 1
    assert lines[-1] == "+55 more — /incident show 7"


def test_what_fired_ignores_resolved_alerts() -> None:
    _, card = incident_card(view(alerts=(alert(status="resolved"),)))
    fired = next(t for t in mrkdwn_texts(card) if t.startswith("*What fired*"))
    assert "Nothing firing now; 1 alert(s) resolved." in fired


def test_card_within_slack_limits_whatever_the_input() -> None:
    huge = "x" * 5000
    alerts = tuple(alert(n, title=huge) for n in range(60))
    big = view(
        title=huge,
        severity_reason=huge * 3,
        commander="@" + huge,
        service=huge,
        model=huge,
        created_by=huge,
        alerts=alerts,
    )
    for state in ("triggered", "acknowledged", "resolved"):
        text, card = incident_card(replace(big, state=state), rollback_to=(huge, huge))
        assert_within_slack_limits(card)
        assert len(text) <= FALLBACK_TEXT_MAX
        assert text.endswith("…")
        assert card[0]["text"]["text"].endswith("…")


def test_user_text_cannot_ping_or_link() -> None:
    nasty = "<!channel> <@U1> <https://evil.example|click> & co"
    text, card = incident_card(
        view(title=nasty, severity_reason=nasty, alerts=(alert(title=nasty),))
    )
    for shown in [text, *mrkdwn_texts(card)]:
        assert "<" not in shown
        assert ">" not in shown
    assert "&lt;!channel&gt; &lt;@U1&gt;" in text
    assert "&amp; co" in text


def test_commander_stored_as_a_mention_stays_a_mention() -> None:
    text, card = incident_card(view(commander="<@U123>", title="page <@U999>"))
    assert "*Commander*\n<@U123>" in mrkdwn_texts(card)
    assert "commander <@U123>" in text
    assert "&lt;@U999&gt;" in text
    # plain_text (the header) never pings; in mrkdwn only the commander is a mention
    assert not [t for t in mrkdwn_texts(card) if "<@U999>" in t]


def test_commander_that_only_looks_like_a_mention_is_escaped() -> None:
    _, card = incident_card(view(commander="<@U1> <!here>"))
    assert "*Commander*\n&lt;@U1&gt; &lt;!here&gt;" in mrkdwn_texts(card)


def test_cutting_never_leaves_half_an_entity() -> None:
    text, card = incident_card(view(title="&" * 5000))
    assert text.endswith("&amp;…")
    assert_within_slack_limits(card)


# -- thread replies ---------------------------------------------------------------------


def test_timeline_reply_reads_as_a_timeline_line() -> None:
    data = {"from": "triggered", "to": "acknowledged"}
    text, reply = timeline_reply(event(data=data))
    assert text == "👀 02:05Z @sam: Acknowledged by @sam"
    assert reply == [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


@pytest.mark.parametrize(
    ("kind", "emoji"),
    [
        ("page", "📟"),
        ("playbook", "⏪"),
        ("note", "📝"),
        ("alert", "🔔"),
        ("alert_resolved", "✅"),
        ("postmortem", "📄"),
    ],
)
def test_timeline_reply_marks_each_kind(kind: str, emoji: str) -> None:
    text, _ = timeline_reply(event(kind=kind, text="something"))
    assert text.startswith(f"{emoji} 02:05Z ")


def test_severity_reply_shows_the_new_severity_mark() -> None:
    text, _ = timeline_reply(event(kind="severity", data={"from": "P3", "to": "P1"}))
    assert text.startswith("🔴 ")


def test_timeline_reply_uses_utc_whatever_the_zone() -> None:
    at = datetime(2026, 11, 24, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    text, _ = timeline_reply(event(kind="note", at=at))
    assert "02:05Z" in text


def test_timeline_reply_keeps_vigil_mentions_and_escapes_the_rest() -> None:
    assigned = event(
        kind="commander",
        actor="<@U1>",
        text="<@U2> is now the incident commander (assigned by <@U1>) <@U9> <!here>",
        data={"from": None, "to": "<@U2>"},
    )
    text, _ = timeline_reply(assigned)
    assert text.startswith("👤 02:05Z <@U1>: <@U2> is now the incident commander")
    assert "(assigned by <@U1>) &lt;@U9&gt; &lt;!here&gt;" in text


def test_long_note_reply_fits_a_section() -> None:
    text, reply = timeline_reply(event(kind="note", text="<" * 5000))
    assert_within_slack_limits(reply)
    assert text.endswith("&lt;…")


# -- page DMs ---------------------------------------------------------------------------


def test_page_message_leads_with_the_page_and_offers_ack_and_escalate() -> None:
    page = "📟 You are paged: 🔴 P1 #7 Ranker p99 over 2s"
    text, dm = page_message(view(), page)
    assert text == page
    assert dm[0]["text"]["text"] == page
    assert [(b["action_id"], b["value"]) for b in buttons(dm)] == [
        (ACK, "7"),
        (ESCALATE, "7"),
    ]
    assert buttons(dm)[0]["style"] == "primary"
    assert_within_slack_limits(dm)


@pytest.mark.parametrize(
    ("state", "expected"),
    [("acknowledged", [ESCALATE]), ("resolved", [])],
)
def test_page_message_drops_buttons_the_state_refuses(state: str, expected: list[str]) -> None:
    _, dm = page_message(view(state=state), "page")
    assert action_ids(dm) == expected


def test_page_message_escapes_the_title_it_quotes() -> None:
    text, dm = page_message(view(), "Paged for <!channel>")
    assert text == "Paged for &lt;!channel&gt;"
    assert_within_slack_limits(dm)


def test_page_text_built_from_the_summary_is_not_escaped_twice() -> None:
    risky = view(title="p99 > 2s & <!here>")
    text, _ = page_message(risky, f"{summary(risky)} — you are paged")
    assert "p99 &gt; 2s &amp; &lt;!here&gt;" in text
    assert "&amp;gt;" not in text


# -- command replies --------------------------------------------------------------------


def test_reply_blocks_keep_every_line_of_the_help() -> None:
    text = help_text()
    sections = reply_blocks(text)
    assert_within_slack_limits(sections)
    shown = "\n".join(s["text"]["text"] for s in sections)
    assert html.unescape(shown) == text


def test_reply_blocks_translate_markdown_ish_lines() -> None:
    sections = reply_blocks("# Post-mortem #7\n- **Impact**: 2 % errors\nplain `code`")
    assert sections[0]["text"]["text"] == "*Post-mortem #7*\n• *Impact*: 2 % errors\nplain `code`"


def test_reply_blocks_escape_unless_a_mention_is_allowed() -> None:
    sections = reply_blocks("📝 Note by <@U1>: ping <@U2>", mentions=["<@U1>"])
    assert sections[0]["text"]["text"] == "📝 Note by <@U1>: ping &lt;@U2&gt;"
    assert ephemeral("<@U1>") == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "&lt;@U1&gt;"}}
    ]


def test_long_reply_splits_on_entity_boundaries_and_loses_nothing() -> None:
    text = "<" * 10_000
    sections = reply_blocks(text)
    assert len(sections) == 14  # 40,000 escaped characters, 750 whole "&lt;" per section
    assert_within_slack_limits(sections)
    assert html.unescape("".join(s["text"]["text"] for s in sections)) == text


def test_huge_reply_is_cut_to_fifty_blocks() -> None:
    sections = reply_blocks("\n".join(["y" * 2999] * 80))
    assert len(sections) == 50
    assert_within_slack_limits(sections)
    assert sections[-1]["text"]["text"] == "… cut: too long for one Slack message."


def test_empty_reply_has_no_blocks() -> None:
    assert reply_blocks(" \n ") == []


# -- /rollback confirmation -------------------------------------------------------------


def test_rollback_confirm_asks_which_version_replaces_which() -> None:
    confirm = rollback_confirm("fraud-scorer", "v3", "v2", 7)
    assert confirm[0]["text"]["text"].startswith("⏪ *Roll back fraud-scorer: replace v3 with v2?*")
    assert "incident #7" in confirm[0]["text"]["text"]
    ok, cancel = buttons(confirm)
    assert (ok["action_id"], ok["style"], ok["text"]["text"]) == (
        ROLLBACK_CONFIRM,
        "danger",
        "Confirm",
    )
    assert json.loads(ok["value"]) == {
        "model": "fraud-scorer",
        "from_version": "v3",
        "to_version": "v2",
        "incident": 7,
    }
    assert (cancel["action_id"], cancel["text"]["text"]) == (ROLLBACK_CANCEL, "Cancel")
    assert_within_slack_limits(confirm)


def test_rollback_confirm_without_incident_says_so() -> None:
    confirm = rollback_confirm("fraud-scorer", "v3", "v2", None)
    assert "Not linked to an incident" in confirm[0]["text"]["text"]
    assert json.loads(buttons(confirm)[0]["value"])["incident"] is None


def test_action_ids_are_the_contract() -> None:
    assert (ACK, ESCALATE, CONTAIN, RESOLVE, ROLLBACK) == (
        "vigil_ack",
        "vigil_escalate",
        "vigil_contain",
        "vigil_resolve",
        "vigil_rollback",
    )
    assert len(set(ACTIONS)) == len(ACTIONS) == 8


# -- the New incident modal -------------------------------------------------------------


def submitted(modal: dict[str, Any], typed: dict[str, str | None]) -> dict[str, Any]:
    """``view.state.values`` as Slack sends it for ``modal`` with ``typed`` filled in."""
    values: dict[str, Any] = {}
    for block in modal["blocks"]:
        element = block["element"]
        value = typed.get(block["block_id"])
        if element["type"] == "static_select":
            chosen = next((o for o in element["options"] if o["value"] == value), None)
            state = {"type": "static_select", "selected_option": chosen}
        else:
            state = {"type": "plain_text_input", "value": value}
        values[block["block_id"]] = {element["action_id"]: state}
    return values


def test_modal_shape() -> None:
    modal = new_incident_modal(private_metadata="C123")
    json.dumps(modal)
    assert modal["callback_id"] == NEW_INCIDENT_CALLBACK == "vigil_new_incident"
    assert (modal["title"]["text"], modal["submit"]["text"]) == ("New incident", "Open incident")
    assert len(modal["title"]["text"]) <= 24
    assert len(modal["submit"]["text"]) <= 24
    assert modal["private_metadata"] == "C123"
    by_id = {b["block_id"]: b for b in modal["blocks"]}
    assert list(by_id) == [
        TITLE_BLOCK,
        SEVERITY_BLOCK,
        SERVICE_BLOCK,
        MODEL_BLOCK,
        DESCRIPTION_BLOCK,
    ]
    title = by_id[TITLE_BLOCK]
    assert title["optional"] is False
    assert title["element"]["max_length"] == 300
    assert all(b["optional"] for b in modal["blocks"][1:])
    assert by_id[DESCRIPTION_BLOCK]["element"]["multiline"] is True
    options = by_id[SEVERITY_BLOCK]["element"]["options"]
    assert [o["value"] for o in options] == ["P1", "P2", "P3", "P4"]
    for option in options:
        assert len(option["text"]["text"]) <= 75
        assert 1 <= len(option["description"]["text"]) <= 75


def test_modal_round_trip() -> None:
    modal = new_incident_modal()
    values = submitted(
        modal,
        {
            TITLE_BLOCK: "  Fraud scorer approves everything ",
            SEVERITY_BLOCK: "P2",
            SERVICE_BLOCK: None,
            MODEL_BLOCK: "fraud-scorer",
            DESCRIPTION_BLOCK: "Approval rate 99% since 01:40Z.",
        },
    )
    assert parse_new_incident_submission(values) == {
        "title": "Fraud scorer approves everything",
        "severity": "P2",
        "service": None,
        "model": "fraud-scorer",
        "description": "Approval rate 99% since 01:40Z.",
    }


def test_modal_round_trip_with_only_a_title() -> None:
    values = submitted(new_incident_modal(), {TITLE_BLOCK: "Ranker slow"})
    parsed = parse_new_incident_submission(values)
    assert parsed == {
        "title": "Ranker slow",
        "severity": None,
        "service": None,
        "model": None,
        "description": None,
    }


@pytest.mark.parametrize(
    ("typed", "block_id", "message"),
    [
        ({TITLE_BLOCK: None}, TITLE_BLOCK, "Say what is wrong"),
        ({TITLE_BLOCK: "   "}, TITLE_BLOCK, "Say what is wrong"),
        ({TITLE_BLOCK: "t" * 301}, TITLE_BLOCK, "300 characters"),
        (
            {TITLE_BLOCK: "t", SERVICE_BLOCK: "ranker", MODEL_BLOCK: "m"},
            MODEL_BLOCK,
            "Give a service or a model, not both.",
        ),
        (
            {TITLE_BLOCK: "t", MODEL_BLOCK: "fraud scorer"},
            MODEL_BLOCK,
            "without spaces",
        ),
    ],
)
def test_modal_errors_point_at_the_field(
    typed: dict[str, str | None], block_id: str, message: str
) -> None:
    parsed = parse_new_incident_submission(submitted(new_incident_modal(), typed))
    assert list(parsed) == ["errors"]
    assert message in parsed["errors"][block_id]


def test_modal_refuses_a_severity_it_never_offered() -> None:
    values = {
        TITLE_BLOCK: {TITLE_BLOCK: {"type": "plain_text_input", "value": "t"}},
        SEVERITY_BLOCK: {
            SEVERITY_BLOCK: {"type": "static_select", "selected_option": {"value": "P9"}}
        },
    }
    parsed = parse_new_incident_submission(values)
    assert SEVERITY_BLOCK in parsed["errors"]


def test_modal_keeps_private_metadata_within_slack_limit() -> None:
    modal = new_incident_modal(private_metadata="c" * 5000)
    assert len(modal["private_metadata"]) == 3000


# -- purity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module",
    [
        importlib.import_module(f"bot.chat.slack.blocks.{name}")
        for name in ("actions", "kit", "card", "thread", "page", "replies")
    ]
    + [modals],
)
def test_rendering_imports_no_chat_library_and_no_io(module: object) -> None:
    source = Path(str(getattr(module, "__file__", ""))).read_text()
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    forbidden = ("slack_bolt", "slack_sdk", "aiohttp", "sqlalchemy", "sqlmodel", "bot.store.db")
    assert not {n for n in names if n.split(".")[0] in forbidden or n in forbidden}
    assert not {
        n for n in names if n.startswith("bot.chat.slack.") and n.endswith(("front", "tables"))
    }


def test_a_preview_carries_the_button_that_runs_its_command() -> None:
    command = '/silence service=payments alertname=~"Latency.*" 2h --yes -- migration'
    blocks = confirmable("🔕 Preview, nothing silenced yet: …", command)
    [actions] = [b for b in blocks if b["type"] == "actions"]
    [go] = actions["elements"]
    assert (go["action_id"], go["value"], go["text"]["text"]) == (CONFIRM, command, "Create it")
    too_long = "/silence " + "a=b " * 600  # over a button value's 2,000 characters
    assert [b["type"] for b in confirmable("preview", too_long)] == ["section"]
