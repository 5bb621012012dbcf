"""``vigil report [--since 30d]``: MTTA, MTTR and SLA compliance per severity, pages per
person, the noisiest alerts. Reads the database; changes nothing.

Of vigil.yaml it reads the top level, ``sla:`` and ``working_hours:`` (the calendar business
hours are counted in), with the parsers the running bot's loader uses, and not the routes,
schedules or any other section: a report needs none of them.
"""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import quiet
from bot.cli.database import once, printed
from bot.config.base import ConfigFile
from bot.core.clock import utcnow
from bot.oncall.calendar import WorkingHours, parse_working_hours
from bot.oncall.sla.clocks import SlaSettings
from bot.oncall.sla.config import parse_sla
from bot.oncall.sla.report_service import ReportService
from bot.store.db import Database


def main(args: argparse.Namespace) -> int:
    """Print the report; 1 after one line naming a bad ``--since``."""
    config = quiet(args)
    sla, hours = sla_of(config)
    return printed(
        asyncio.run(once(config.settings, lambda db: _report(db, sla, hours, args.since)))
    )


def sla_of(config: ConfigFile) -> tuple[SlaSettings, WorkingHours]:
    """The SLA targets and working hours the SLA timers use (``settings.oncall.sla`` and
    ``settings.oncall.routing.working_hours`` in the running bot, parsed alike), so the
    channel and the report agree."""
    raw, where = config.top.working_hours, config.where
    hours = WorkingHours() if raw is None else parse_working_hours(raw, where=where)
    return parse_sla(config.top.sla, where=where, calendar=hours), hours


async def _report(db: Database, sla: SlaSettings, hours: WorkingHours, since: str) -> str:
    reports = ReportService(db, sla=sla, working_hours=hours, clock=utcnow)
    return await reports.report(since)
