"""Playbook actions by name: what a step's ``action:`` may say, and which params it takes.

``ACTIONS`` is the default table; the loader and runner accept another one, which is how
tests add actions of their own without touching this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from bot.playbooks.actions import registry_steps, simple
from bot.playbooks.actions.base import Action, ActionSpec, RunContext, StepOutcome
from bot.playbooks.actions.http import http_post


def _spec(name: str, run: Action, required: str, optional: str = "") -> ActionSpec:
    return ActionSpec(name, run, frozenset(required.split()), frozenset(optional.split()))


ACTIONS: Mapping[str, ActionSpec] = MappingProxyType(
    {
        s.name: s
        for s in (
            _spec("registry.rollback", registry_steps.rollback, "model", "to_version"),
            _spec("registry.pin_traffic", registry_steps.pin_traffic, "model", "version fallback"),
            _spec("registry.set_canary", registry_steps.set_canary, "model version percent"),
            _spec("http.post", http_post, "url", "json expect headers timeout"),
            _spec("incident.note", simple.incident_note, "text"),
            _spec("check.manual", simple.check_manual, "text"),
        )
    }
)

__all__ = ["ACTIONS", "Action", "ActionSpec", "RunContext", "StepOutcome"]
