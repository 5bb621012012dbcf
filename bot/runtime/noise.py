"""The noise side of the composition root: silences, maintenance windows and inhibition.

Apart from :mod:`bot.runtime.app` so that the root stays one screen per concern. The silence
service is handed to the intake as its :class:`~bot.incidents.intake.muting.Muter` (the
intake sits below ``bot.silences`` and cannot import it), its watch registers its timers
before the timers start, and follows resolved and cleared incidents (expire on resolve, and
the end of an inhibition).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.chat.backend import ChatBackend, notice_all
from bot.chat.commands.silences.run import SilenceCommands
from bot.config.load import Settings
from bot.core.clock import Clock
from bot.incidents.intake.ingest import AlertIngestor
from bot.incidents.reactions.changes import Notifier
from bot.incidents.service import IncidentService
from bot.silences.matchers import parse_matchers
from bot.silences.mutes import WindowRule
from bot.silences.service import SilenceService
from bot.silences.watch import SilenceWatch
from bot.store.db import Database
from bot.store.timers import Timers


def build_silences(
    settings: Settings,
    db: Database,
    timers: Timers,
    ingestor: AlertIngestor,
    notifier: Notifier,
    incidents: IncidentService,
    clock: Clock,
    senders: Callable[[], Sequence[ChatBackend]],
) -> tuple[SilenceService, SilenceWatch, SilenceCommands]:
    """The service (the intake's muter from now on), its watch (timers, follower) and the
    chat commands on it."""
    windows = [WindowRule(w, parse_matchers(w.matchers)) for w in settings.maintenance]
    silences = SilenceService(
        db, clock=clock, timers=timers, windows=windows, rules=settings.inhibit_rules
    )
    ingestor.mute_with(silences)

    async def notice(text: str) -> None:
        await notice_all(senders(), text)

    watch = SilenceWatch(db, silences, ingestor, timers, clock=clock, notice=notice)
    notifier.follow(
        "silences",
        watch.on_change,
        wants=lambda c: (
            (c.kind == "state" and c.incident.state == "resolved") or c.kind == "cleared"
        ),
    )
    chat = SilenceCommands(silences, incidents, group_by=settings.incidents.group_by, clock=clock)
    return silences, watch, chat
