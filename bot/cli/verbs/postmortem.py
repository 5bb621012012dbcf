"""``vigil postmortem N [--out FILE]``: the draft of incident N, printed or written; records
nothing. Of vigil.yaml it reads the top level only (``templates_dir``, ``postmortems_dir``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.cli.common import quiet
from bot.cli.database import once
from bot.config.base import BaseSettings
from bot.core.clock import utcnow
from bot.incidents.service import IncidentService
from bot.postmortem.draft import PostmortemRenderer
from bot.postmortem.service import PostmortemService
from bot.store.db import Database


def main(args: argparse.Namespace) -> int:
    """Print the draft or write it to ``--out``; 1 after saying why there is none."""
    config = quiet(args).settings
    text = asyncio.run(once(config, lambda db: _draft(config, db, args.incident)))
    if text is None:
        return 1
    out: Path | None = args.out
    if out is None:
        sys.stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"Post-mortem draft of #{args.incident} written to {out}")
    return 0


async def _draft(settings: BaseSettings, db: Database, incident_id: int) -> str:
    postmortems = PostmortemService(
        IncidentService(db, clock=utcnow),
        PostmortemRenderer(settings.templates_dir),
        out_dir=settings.postmortems_dir,
        clock=utcnow,
    )
    return await postmortems.render(incident_id)
