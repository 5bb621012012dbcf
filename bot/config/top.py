"""The top level of ``vigil.yaml``: which keys exist, and the plain settings among them.

Validated by a pydantic model (:mod:`bot.config.model`): a top-level key Vigil does not
know (``databse_url:``) is refused, listing the keys it does, instead of being ignored. The
sections (``classification:``, ``routes:``, ``sla:`` …) are only known here: each is
validated by its own model where its domain lives, which ``bot.config.load`` calls with the
value found here. The database URL's check loads SQLAlchemy's URL parser, so this module is
not in the pure list.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, PlainValidator

from bot.config.checks import http_url, positive_duration
from bot.config.http import HttpSection
from bot.config.model import ConfigModel, problem
from bot.incidents.intake.fingerprint import DEFAULT_GROUP_BY
from bot.store.db_url import backend_name


def database_url_problem(value: object) -> str:
    """Why Vigil cannot open ``value`` ("" when it can); the password never enters it."""
    if not isinstance(value, str) or not value.strip():
        return "must be a database URL such as postgresql://user@host/db"
    try:
        backend = backend_name(value)
    except ValueError:
        return "is not a database URL (e.g. postgresql://user:pw@host/db or sqlite:///var/vigil.db)"
    if backend not in ("sqlite", "postgresql"):
        return f"Vigil runs on PostgreSQL or SQLite, not {backend!r}"
    return ""


def _database_url(value: object) -> str | None:
    if value is None:
        return None
    wrong = database_url_problem(value)
    if wrong:
        raise problem(wrong)
    return str(value)


def _path(value: object) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise problem("must be a directory path")
    return Path(value)


def _group_by(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise problem("must be a non-empty list of label names")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip("| "):
            raise problem("must be a label name, or names joined by |", at=(i,))
    return tuple(value)


def _retrain_url(value: object) -> str | None:
    return None if value is None else http_url(value)  # never echoed: it may hold credentials


DirPath = Annotated[Path | None, PlainValidator(_path)]
Section = Any
"""A section validated by its own model (see ``bot.config.load``), passed on as written."""


class TopLevel(ConfigModel):
    """Every key ``vigil.yaml`` may hold, in alphabetical order (the unknown-key message
    lists them so). A section's default is what its parser reads when it is left out."""

    auto_resolve: Section = None
    classification: Section = Field(default_factory=dict)
    database_url: Annotated[str | None, PlainValidator(_database_url)] = Field(None, repr=False)
    escalation: Section = None
    escalation_policies: Section = None
    evidence_dir: DirPath = None
    group_by: Annotated[tuple[str, ...], PlainValidator(_group_by)] = DEFAULT_GROUP_BY
    groups: Section = None
    heartbeats: Section = None
    http: HttpSection = Field(default_factory=HttpSection)
    inhibit_rules: Section = None
    log_level: Any = None  # any text; upper-cased by the loader
    maintenance: Section = None
    models: Section = Field(default_factory=dict)
    notify: Section = None
    playbooks_dir: DirPath = None
    postmortems_dir: DirPath = None
    quality: Section = None
    registry: Section = None
    retrain_url: Annotated[str | None, PlainValidator(_retrain_url)] = Field(None, repr=False)
    retraining: Section = None
    rollout: Section = None
    rotations: Section = None
    routes: Section = None
    rules_dir: DirPath = None
    schedules: Section = None
    sensitivity: Section = None
    services: Section = Field(default_factory=dict)
    severity_paging: Section = None
    sla: Section = None
    slack: Section = None
    sources: Section = None
    templates_dir: DirPath = None
    timer_poll: Annotated[timedelta, PlainValidator(positive_duration)] = timedelta(seconds=5)
    working_hours: Section = None
