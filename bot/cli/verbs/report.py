"""``vigil report [--since 30d]``: MTTA, MTTR and SLA compliance per severity, pages per
person, the noisiest alerts. Reads the database; changes nothing."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import quiet
from bot.cli.database import once, printed
from bot.config.load import Settings
from bot.core.clock import utcnow
from bot.oncall.sla.report_service import ReportService
from bot.store.db import Database


def main(args: argparse.Namespace) -> int:
    """Print the report; 1 after one line naming a bad ``--since``."""
    config = quiet(args)
    return printed(asyncio.run(once(config, lambda db: _report(config, db, args.since))))


async def _report(settings: Settings, db: Database, since: str) -> str:
    # The SLA targets and working hours the SLA timers use (as bot.runtime.app wires them), so the
    # channel and the report agree.
    sla, hours = settings.oncall.sla, settings.oncall.routing.working_hours
    reports = ReportService(db, sla=sla, working_hours=hours, clock=utcnow)
    return await reports.report(since)
