"""The database for one short command (``model``, ``schedule``, ``incidents``, ``report``,
``postmortem``): opened and migrated, used, closed.

Only the database and the one service the verb asks for are built, not the whole running
bot (:mod:`bot.runtime.app`): a command that prints a list starts in a fraction of a second, fires
no timers and pages nobody.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable

from bot.cli.errors import StartupError
from bot.config.base import BaseSettings
from bot.core.errors import VigilError
from bot.store.db import Database, redact_url


def cannot_open(settings: BaseSettings, exc: Exception) -> StartupError:
    """The error that says which database could not be opened (password hidden) and why."""
    return StartupError(
        f"cannot open the database {redact_url(settings.database_url)}: {type(exc).__name__}: {exc}"
    )


async def opened(settings: BaseSettings) -> Database:
    """The database, migrated to this version's schema."""
    db = Database(settings.database_url)
    try:
        await db.migrate()
    except Exception as exc:  # any driver's failure to connect or migrate
        await db.dispose()
        raise cannot_open(settings, exc) from exc
    return db


async def once(settings: BaseSettings, work: Callable[[Database], Awaitable[str]]) -> str | None:
    """Open the database for one command, run ``work`` and close it: what ``work`` returns,
    or None after saying on stderr why it refused (a ``VigilError``)."""
    db = await opened(settings)
    try:
        return await work(db)
    except VigilError as exc:
        print(f"vigil: {exc.message}", file=sys.stderr)
        return None
    finally:
        await db.dispose()


def printed(text: str | None) -> int:
    """Print a command's text; its exit status (1 when it refused and said why)."""
    if text is None:
        return 1
    print(text)
    return 0
