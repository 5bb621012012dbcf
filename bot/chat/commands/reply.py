"""``Reply``: what a command answers, and who should see it.

Its own module so the command runner and the modules that word particular replies
(``remedies``) share it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.incidents.views import IncidentView


@dataclass(frozen=True)
class Reply:
    """What to show. ``ephemeral`` replies go to the caller only (errors, usage, lookups);
    the others matter to the whole team and go to the channel."""

    text: str
    ephemeral: bool
    incident: IncidentView | None = None
    # A preview's command that carries it out (``/silence … --yes``): Slack shows it as a
    # button; the console prints it in the text.
    confirm: str | None = None
