"""A channel line names the incident and says what to do next, once."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.chat.backend import announcement
from bot.incidents.reactions.changes import Change
from bot.incidents.views import IncidentView

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _view(state: str = "resolved") -> IncidentView:
    return IncidentView(
        id=1,
        title="Input drift on fraud-scorer",
        severity="P2",
        severity_reason="P2: drift",
        severity_source="policy",
        state=state,
        commander=None,
        service=None,
        model="fraud-scorer",
        group_key="k",
        created_by="vigil",
        created_at=T0,
        updated_at=T0,
        acknowledged_at=None,
        contained_at=None,
        resolved_at=T0 if state == "resolved" else None,
    )


def test_a_line_with_its_own_next_step_is_not_given_the_incidents_as_well() -> None:
    text = (
        "✅ Retraining of fraud-scorer finished (success): version v8 registered as shadow. "
        "Next: compare it in shadow, then start a canary."
    )
    line = announcement(Change("retrain", _view(), "vigil", text))
    assert line.count("Next:") == 1
    assert line.endswith("Next: compare it in shadow, then start a canary.")


def test_a_plain_note_gets_the_incidents_next_step() -> None:
    line = announcement(Change("note", _view("triggered"), "@sam", "Rolled back by hand"))
    assert line.endswith("rolled back by hand. Next: /incident ack 1")
