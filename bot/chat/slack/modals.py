"""The "New incident" modal, and reading its submission back, as plain Block Kit dicts.

Split from ``blocks`` only for size; ``blocks`` re-exports every name here, so callers import
one module. Pure like it: no Slack library and no I/O, so the round trip (build the view,
parse a ``view.state.values`` dict shaped as Slack sends it) is tested without Slack.

Checks that need nothing but the form (an empty title, both a service and a model) are done
here, so Slack shows them under the field (``response_action: errors``) and the modal stays
open with what the responder typed; everything else is left to ``IncidentService.open``.
"""

from __future__ import annotations

from typing import Any, TypedDict

from bot.incidents.severity import mark

NEW_INCIDENT_CALLBACK = "vigil_new_incident"
# block_id == action_id for each input: one element per block, and one name to look up.
TITLE_BLOCK = "vigil_title"
SEVERITY_BLOCK = "vigil_severity"
SERVICE_BLOCK = "vigil_service"
MODEL_BLOCK = "vigil_model"
DESCRIPTION_BLOCK = "vigil_description"

TITLE_MAX = 300  # IncidentService.open refuses longer titles
_NAME_MAX = 200
_DESCRIPTION_MAX = 3000  # plain_text_input's own ceiling
_METADATA_MAX = 3000  # private_metadata limit

# Option descriptions are capped at 75 characters by Slack.
_SEVERITY_OPTIONS: tuple[tuple[str, str], ...] = (
    ("P1", "Users hurt now: outage, or wrong predictions at scale"),
    ("P2", "Degraded for many users, or a key model drifting"),
    ("P3", "Few users affected, or a workaround exists"),
    ("P4", "No user impact yet; look in working hours"),
)


class NewIncident(TypedDict, total=False):
    """A parsed submission: the fields for ``IncidentService.open``, or only ``errors``
    (block_id → message) to hand to Slack as ``response_action: errors``."""

    title: str
    severity: str | None
    service: str | None
    model: str | None
    description: str | None
    errors: dict[str, str]


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool,
    hint: str | None = None,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "element": {**element, "action_id": block_id},
        "optional": optional,
    }
    if hint:
        block["hint"] = _plain(hint)
    return block


def _text_input(placeholder: str, max_length: int, *, multiline: bool = False) -> dict[str, Any]:
    return {
        "type": "plain_text_input",
        "placeholder": _plain(placeholder),
        "max_length": max_length,
        "multiline": multiline,
    }


def new_incident_modal(
    *, callback_id: str = NEW_INCIDENT_CALLBACK, private_metadata: str = ""
) -> dict[str, Any]:
    """The view for ``views.open`` when someone types ``/incident`` with nothing after it.

    ``private_metadata`` carries the channel the command came from, so an error after
    submission can be shown where the responder is looking.
    """
    options = [
        {"text": _plain(f"{mark(sev)} {sev}"), "value": sev, "description": _plain(desc)}
        for sev, desc in _SEVERITY_OPTIONS
    ]
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": private_metadata[:_METADATA_MAX],
        "title": _plain("New incident"),
        "submit": _plain("Open incident"),
        "close": _plain("Cancel"),
        "blocks": [
            _input(
                TITLE_BLOCK,
                "What is wrong?",
                _text_input("Ranker p99 over 2s", TITLE_MAX),
                optional=False,
            ),
            _input(
                SEVERITY_BLOCK,
                "Severity",
                {"type": "static_select", "placeholder": _plain("P1 to P4"), "options": options},
                optional=True,
                hint="Leave empty for P4; change it later with /incident sev N P1..P4.",
            ),
            _input(
                SERVICE_BLOCK,
                "Service",
                _text_input("payments", _NAME_MAX),
                optional=True,
                hint="A service or a model, not both.",
            ),
            _input(MODEL_BLOCK, "Model", _text_input("fraud-scorer", _NAME_MAX), optional=True),
            _input(
                DESCRIPTION_BLOCK,
                "What do you see?",
                _text_input(
                    "Goes on the timeline as the first note.", _DESCRIPTION_MAX, multiline=True
                ),
                optional=True,
            ),
        ],
    }


def _value(state_values: dict[str, Any], block_id: str) -> str | None:
    """The stripped text of an input, or None when absent or blank."""
    element = state_values.get(block_id, {}).get(block_id) or {}
    if element.get("type") == "static_select":
        raw = (element.get("selected_option") or {}).get("value")
    else:
        raw = element.get("value")
    text = raw.strip() if isinstance(raw, str) else ""
    return text or None


def parse_new_incident_submission(state_values: dict[str, Any]) -> NewIncident:
    """Read ``view.state.values`` back; ``{"errors": {...}}`` if the form must be corrected."""
    title = _value(state_values, TITLE_BLOCK)
    severity = _value(state_values, SEVERITY_BLOCK)
    service = _value(state_values, SERVICE_BLOCK)
    model = _value(state_values, MODEL_BLOCK)
    errors: dict[str, str] = {}
    if title is None:
        errors[TITLE_BLOCK] = "Say what is wrong, e.g. Ranker p99 over 2s."
    elif len(title) > TITLE_MAX:
        errors[TITLE_BLOCK] = f"Keep the title to {TITLE_MAX} characters; put detail below."
    if severity is not None and severity not in {sev for sev, _ in _SEVERITY_OPTIONS}:
        errors[SEVERITY_BLOCK] = "Pick one of P1, P2, P3, P4, or leave it empty."
    if service is not None and model is not None:
        errors[MODEL_BLOCK] = "Give a service or a model, not both."
    for block_id, name in ((SERVICE_BLOCK, service), (MODEL_BLOCK, model)):
        if name is not None and len(name.split()) > 1 and block_id not in errors:
            errors[block_id] = "One name, without spaces, e.g. fraud-scorer."
    if errors:
        return {"errors": errors}
    assert title is not None  # an empty title is an error above
    return {
        "title": title,
        "severity": severity,
        "service": service,
        "model": model,
        "description": _value(state_values, DESCRIPTION_BLOCK),
    }
