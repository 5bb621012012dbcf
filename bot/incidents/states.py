"""The incident life cycle as a pure table: which state may follow which.

    triggered ──▶ acknowledged ──▶ contained ──▶ resolved ──▶ postmortem
        └──────────────┴───────────────┴──────────▲

Containing or resolving an unacknowledged incident is allowed (a responder who acts has
evidently seen it); going backwards is not. A refusal names the current state so the person
typing knows what to do instead.
"""

from __future__ import annotations

from typing import Literal

from bot.core.errors import TransitionError

State = Literal["triggered", "acknowledged", "contained", "resolved", "postmortem"]
STATES: tuple[State, ...] = ("triggered", "acknowledged", "contained", "resolved", "postmortem")
OPEN_STATES: tuple[State, ...] = ("triggered", "acknowledged", "contained")
# Someone has the incident, or it is over: paging and page retries stop.
STOPPING_STATES: frozenset[State] = frozenset(
    {"acknowledged", "contained", "resolved", "postmortem"}
)

_ALLOWED: dict[str, frozenset[str]] = {
    "triggered": frozenset({"acknowledged", "contained", "resolved"}),
    "acknowledged": frozenset({"contained", "resolved"}),
    "contained": frozenset({"resolved"}),
    "resolved": frozenset({"postmortem"}),
    "postmortem": frozenset(),
}

_VERB = {
    "acknowledged": "acknowledge",
    "contained": "contain",
    "resolved": "resolve",
    "postmortem": "start the post-mortem of",
}


def is_open(state: str) -> bool:
    """True while the incident still needs someone (not yet resolved)."""
    return state in OPEN_STATES


def check_transition(incident_id: int, current: str, target: str) -> None:
    """Raise ``TransitionError`` unless ``current → target`` is allowed."""
    if target in _ALLOWED.get(current, frozenset()):
        return
    verb = _VERB.get(target, f"move to {target}")
    if current == target:
        message = f"Incident #{incident_id} is already {current}."
    else:
        nexts = sorted(_ALLOWED.get(current, frozenset()), key=STATES.index)
        hint = f" From {current} it can go to: {', '.join(nexts)}." if nexts else ""
        message = f"Cannot {verb} incident #{incident_id}: it is {current}.{hint}"
    raise TransitionError(message, current=current)
