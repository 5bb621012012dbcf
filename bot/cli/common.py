"""What the verbs that read vigil.yaml share: their settings, and where their log lines go.

A short verb reads the top level (:func:`bot.config.base.read_config`) and parses only the
sections it uses, with those sections' own parsers: it reads what it uses, and imports
nothing of the others (``vigil incidents`` loads no Slack, paging or retraining settings).
``run``/``serve`` load every section (:func:`bot.config.load.load_settings`), ``check``
validates the whole file.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from datetime import datetime

from bot.config.base import BaseSettings, ConfigFile, read_config


def config_of(args: argparse.Namespace) -> ConfigFile:
    """vigil.yaml's top level and the environment, with ``--host``/``--port`` where the verb
    has them; a ``ConfigError`` naming the file and key when they are wrong. The sections
    are left as written, for the verb to parse those it uses."""
    return read_config(
        args.config,
        dict(os.environ),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
    )


def log_to_stderr(level: str, settings: BaseSettings) -> None:
    """Log lines on stderr at ``level``, so what a verb prints on stdout stays clean; the
    libraries' chatter (migrations, the timer scheduler) only at DEBUG."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if settings.log_level != "DEBUG":  # our own lines say what matters
        # All of Alembic: it is imported only when a migration runs, after this, and its
        # plugins log "setup plugin …" at INFO as it loads.
        for noisy in ("alembic", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def actor() -> str:
    """``cli:<login name>``, so the registry's history and an imported override say who
    changed what from a shell."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in the environment or the password database
        return "cli:unknown"


def quiet(args: argparse.Namespace) -> ConfigFile:
    """The configuration of a verb that prints an answer: only warnings and errors are
    logged (on stderr), so nothing mixes into what it prints."""
    config = config_of(args)
    log_to_stderr("WARNING", config.settings)
    return config


def when(at: datetime) -> str:
    """A moment as the model verbs print it: ``2026-11-23 09:00:00Z``."""
    return at.strftime("%Y-%m-%d %H:%M:%SZ")
