"""Replies to ``/rollout``: what started, what stopped, where a rollout stands.

Worded for the person who typed it at 2 a.m.: the first line is the rollout's headline (the
same words as its one chat message), then the plan, the last few looks with the judge's
reasons when it failed, and the command that comes next (stop it, or start one). The
rollout's own thread gets the step lines from the driver; these are the answers to the
person who asked.
"""

from __future__ import annotations

from bot.chat.commands.reply import Reply
from bot.core.durations import interval_words
from bot.rollout.story import (
    FAILED,
    RUNNING,
    RolloutState,
    aborted_line,
    clock_z,
    headline,
    plan_words,
    started_line,
)
from bot.rollouts.service import RolloutReport

SHOWN_LOOKS = 6  # a status is read on a phone: the latest looks, and how many came before


def started(state: RolloutState) -> Reply:
    """For the channel: a traffic change the team should know about."""
    return Reply(
        f"🚦 {started_line(state)}.\nStop it: /rollout abort {state.model}", ephemeral=False
    )


def aborted(state: RolloutState, actor: str) -> Reply:
    return Reply(f"⏹️ {aborted_line(state, actor)}.", ephemeral=False)


def status(model: str, report: RolloutReport | None) -> Reply:
    """To the caller alone: a lookup, not news."""
    if report is None:
        return Reply(
            f"{model} has had no rollout. Start one: /rollout start {model} VERSION",
            ephemeral=True,
        )
    r = report.rollout
    lines = [
        headline(r),
        f"Started {clock_z(r.started_at)} by {r.actor} against {r.baseline}: "
        f"{plan_words(r.steps, r.mode)}, a look every {interval_words(r.every)}.",
    ]
    looks = report.looks[-SHOWN_LOOKS:]
    if not report.looks:
        lines.append("No look yet.")
    elif len(report.looks) > len(looks):
        lines.append(f"Last {len(looks)} of {len(report.looks)} looks:")
    else:
        lines.append("Looks:")
    for look in looks:
        score = "" if look.score is None else f" (score {look.score})"
        verdict = look.verdict.upper()
        lines.append(f"  {clock_z(look.at)} at {look.percent} %: {verdict}{score} → {look.action}")
    if r.state == FAILED and report.looks:
        why = "; ".join(report.looks[-1].reasons) or report.looks[-1].summary
        lines.append(f"Why it failed: {why}")
    if r.state == RUNNING:
        lines.append(f"Stop it: /rollout abort {model}")
    return Reply("\n".join(lines), ephemeral=True)
