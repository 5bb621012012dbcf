"""Escalation policies: who gets paged, in what order, and when — as pure functions of time.

A policy is a list of levels. Level 1 is paged when the incident opens; each level has a
``wait``: how long to wait for an acknowledgement *after paging that level* before paging the
next one. After the last level's wait the policy may start again from level 1 (``repeat``
extra rounds); when the last round's last wait runs out with no ack, the escalation is
*exhausted* and the caller says so loudly (page the channel). In ``vigil.yaml``::

    escalation:
      levels:
        - notify: ["@alice"]                 # paged at once
          wait: 10m                          # ...then 10 min for an ack
        - notify: ["@bob", "rotation:ml-oncall"]
          wait: 15m
      repeat: 1                              # once more from level 1, then exhausted

``wait`` was chosen over an ``after`` offset so that inserting a level never silently shifts
the times of the others. Nothing here does I/O or reads a clock: :func:`due` takes ``now``,
so the timer code and the tests decide what time it is, and a restart recomputes the same
answer from the incident's start time. Reading a policy from ``vigil.yaml`` is
:mod:`bot.oncall.paging.policy_config`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.durations import format_duration

ROTATION_PREFIX = "rotation:"
SCHEDULE_PREFIX = "schedule:"


@dataclass(frozen=True)
class Level:
    """Who is paged at this level, and how long to wait for an ack before the next level."""

    targets: tuple[str, ...]
    wait: timedelta


@dataclass(frozen=True)
class EscalationPolicy:
    """Levels in order; ``repeat`` extra rounds of all of them after the first."""

    name: str
    levels: tuple[Level, ...]
    repeat: int = 0

    @property
    def round_length(self) -> timedelta:
        return sum((level.wait for level in self.levels), timedelta())


@dataclass(frozen=True)
class PageStep:
    """One page to send: ``index`` counts steps over all rounds from 0; ``level`` is 1-based."""

    index: int
    level: int
    targets: tuple[str, ...]
    at: datetime
    round: int = 1


@dataclass(frozen=True)
class EscalationState:
    """What :func:`due` found at ``now``.

    ``due``: steps whose time has come and that were not yet paged, oldest first.
    ``next_at``: when to look again (the next page, or the moment of exhaustion); None when
    nothing more will ever be due (acknowledged or exhausted).
    ``exhausted``: every step has paged and the last wait ran out with no ack.
    """

    due: tuple[PageStep, ...]
    next_at: datetime | None
    exhausted: bool
    acknowledged: bool
    levels: int


def plan(policy: EscalationPolicy, started_at: datetime) -> list[PageStep]:
    """Every page the policy would send if nobody acknowledged, in time order."""
    steps: list[PageStep] = []
    at = started_at
    for round_number in range(1, policy.repeat + 2):
        for number, level in enumerate(policy.levels, start=1):
            steps.append(PageStep(len(steps), number, level.targets, at, round_number))
            at += level.wait
    return steps


def exhausted_at(policy: EscalationPolicy, started_at: datetime) -> datetime:
    """When the last round's last wait runs out."""
    return started_at + policy.round_length * (policy.repeat + 1)


def due(
    policy: EscalationPolicy,
    started_at: datetime,
    now: datetime,
    *,
    acknowledged: bool,
    paged: int = 0,
) -> EscalationState:
    """The pages due at ``now``, given that the first ``paged`` steps were already sent.

    A step is due from its time on (``at <= now``), so a caller that was down sees every
    missed step at once and decides how to word it. Acknowledged: nothing is due, ever.
    """
    levels = len(policy.levels)
    if acknowledged:
        return EscalationState((), None, exhausted=False, acknowledged=True, levels=levels)
    steps = plan(policy, started_at)
    remaining = steps[paged:]
    now_due = tuple(step for step in remaining if step.at <= now)
    later = [step for step in remaining if step.at > now]
    end = exhausted_at(policy, started_at)
    if later:
        next_at: datetime | None = later[0].at
    elif now < end:
        next_at = end
    else:
        next_at = None
    return EscalationState(
        now_due,
        next_at,
        exhausted=next_at is None,
        acknowledged=False,
        levels=levels,
    )


def describe(policy: EscalationPolicy) -> str:
    """One line for ``/incident oncall`` and ``vigil check``.

    ``Level 1: @alice now; level 2: @bob, @carol after 10 min without ack; …`` — times are
    counted from the first page, which is what a responder reading it at 2 a.m. wants.
    """
    parts: list[str] = []
    offset = timedelta()
    for number, level in enumerate(policy.levels, start=1):
        who = ", ".join(level.targets)
        when = "now" if not offset else f"after {format_duration(offset)} without ack"
        parts.append(f"{'Level' if number == 1 else 'level'} {number}: {who} {when}")
        offset += level.wait
    if policy.repeat:
        times = "once" if policy.repeat == 1 else f"{policy.repeat} times"
        parts.append(f"then again from level 1 every {format_duration(offset)}, {times}")
    total = policy.round_length * (policy.repeat + 1)
    parts.append(f"nobody acknowledged after {format_duration(total)}: escalation exhausted")
    return "; ".join(parts) + "."


_SLACK_MENTION = re.compile(r"<@[UW][A-Z0-9]+>")


def is_person(target: str) -> bool:
    """``@person`` or a Slack mention ``<@U123>``."""
    if _SLACK_MENTION.fullmatch(target):
        return True
    return target.startswith("@") and len(target) > 1 and not any(c.isspace() for c in target)


def target_problem(
    target: object,
    prefixes: Sequence[str] | Mapping[str, AbstractSet[str]] = (ROTATION_PREFIX, SCHEDULE_PREFIX),
) -> str:
    """Why a target is not ``@person``, a Slack mention ``<@U123>`` or ``PREFIXNAME`` for one of
    ``prefixes`` ("" when it is fine).

    With a sequence, any name without whitespace will do; with a mapping, the name must be one
    of those known for its prefix (``schedule:`` → ``schedules:``, and so on).
    """
    shapes = ["'@person'", *(f"'{prefix}NAME'" for prefix in prefixes)]
    wanted = f"must be {', '.join(shapes[:-1])} or {shapes[-1]}"
    if not isinstance(target, str):
        return f"{wanted}, not {target!r}"
    if is_person(target):
        return ""
    for prefix in prefixes:
        if not target.startswith(prefix):
            continue
        name = target.removeprefix(prefix)
        if not isinstance(prefixes, Mapping):
            if name and not any(c.isspace() for c in name):
                return ""
        elif name in prefixes[prefix]:
            return ""
        else:
            listed = ", ".join(sorted(prefixes[prefix])) or "none"
            return f"{target} names nothing under `{prefix.removesuffix(':')}s:` (known: {listed})"
    return f"{wanted}, not {target!r}"
