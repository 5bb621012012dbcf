"""The watch after a fix in the composition root: the book the rule runner asks, and the
follower that writes "Watching closely for 24 h: …" when an incident resolves.

Apart from :mod:`bot.runtime.app` (as :mod:`bot.runtime.model_side` is) so the root holds
two calls, not the wiring: both parts read ``sensitivity:`` and the subjects' settings.
The follower is registered by :func:`follow_watch` before the post-mortem's, so the
automatic draft of a P1/P2 reads the line.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.config.load import Settings
from bot.incidents.reactions.changes import Notifier
from bot.incidents.service import IncidentService
from bot.rules.heightened.watches import WatchBook, WatchLine
from bot.rules.schema import Rule
from bot.store.db import Database

FOLLOWER = "watch"


def build_watch_book(settings: Settings, db: Database) -> WatchBook:
    """The watches in force, derived from the resolved incidents (``sensitivity:``)."""
    return WatchBook(db, settings.sensitivity)


def follow_watch(
    notifier: Notifier,
    settings: Settings,
    incidents: IncidentService,
    book: WatchBook,
    rules: Sequence[Rule],
) -> None:
    """Register the resolve follower that writes the watch's line on the timeline."""
    line = WatchLine(
        incidents,
        book,
        rules,
        settings.sensitivity,
        models=settings.incidents.models,
        services=settings.incidents.services,
        heartbeats=settings.heartbeats,
    )
    notifier.follow(FOLLOWER, line.on_change, wants=WatchLine.wants)
