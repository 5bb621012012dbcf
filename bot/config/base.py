"""The top level of ``vigil.yaml`` and the environment, without the sections: what every
verb reads.

A short verb reads what it uses: ``vigil incidents`` needs the database URL and the log
level, not Slack, paging, the retraining crons or the notify channels, so it reads the file
here (the top level validated whole: an unknown key or a bad ``database_url`` is refused as
by ``vigil check``) and parses none of the sections, and imports none of their modules.
A verb that does use a section (``report`` the SLA, ``model`` the registry, ``schedule`` the
schedules) passes :attr:`ConfigFile.top`'s value to that section's own parser, the one
:mod:`bot.config.load` calls, so the same file gives the same values and the same messages.
``vigil run``/``serve``/``check``/``demo`` load everything (:func:`bot.config.load.
load_settings`, built on :func:`read_config`): the running bot uses every section, and
``check`` validates the whole file.

Precedence: command-line flags > environment variables > ``vigil.yaml`` > embedded defaults
(SQLite under ``./var/``, HTTP on 127.0.0.1:8080). Environment read here: ``VIGIL_CONFIG``,
``VIGIL_DATABASE_URL``, ``VIGIL_HOST``, ``VIGIL_PORT``, ``VIGIL_INGEST_TOKEN``,
``VIGIL_API_TOKEN``, ``VIGIL_LOG_LEVEL``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.config.checks import whole_number
from bot.config.http import DEFAULT_MAX_BODY
from bot.config.model import validate_section
from bot.config.top import TopLevel, database_url_problem
from bot.core.errors import ConfigError
from bot.core.secret import Secret
from bot.core.yamlfile import read_yaml

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/vigil.db"


@dataclass(frozen=True)
class BaseSettings:
    """The plain settings of the top level, resolved against the environment and flags;
    :class:`bot.config.load.Settings` adds the sections' settings to them."""

    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)  # may hold a password
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = DEFAULT_MAX_BODY
    ingest_token: Secret | None = None
    api_token: Secret | None = None
    log_level: str = "INFO"
    templates_dir: Path | None = None  # overrides for the bundled templates, searched first
    postmortems_dir: Path = Path("var/postmortems")
    playbooks_dir: Path | None = None  # your playbooks, searched before the bundled ones
    rules_dir: Path | None = None  # your rules/*.yaml, overriding the bundled ones by name
    retrain_url: str | None = field(default=None, repr=False)  # may hold credentials
    config_path: Path | None = None
    evidence_dir: Path = Path("var/evidence")  # charts attached to model-quality incidents
    # How often each replica looks for timers another replica scheduled (the takeover bound).
    timer_poll: timedelta = timedelta(seconds=5)


def base_fields(settings: BaseSettings) -> dict[str, Any]:
    """The plain settings as keyword arguments (for the full ``Settings``), values as they
    are (no copies)."""
    return {f.name: getattr(settings, f.name) for f in fields(BaseSettings)}


@dataclass(frozen=True)
class ConfigFile:
    """``vigil.yaml`` read, its top level validated: the plain settings, and each section as
    written (``top.sla``, ``top.registry`` …) for the parser of a verb that uses it."""

    settings: BaseSettings
    top: TopLevel
    raw: Mapping[str, Any]  # the whole mapping (the routing keys are read from it)
    where: str  # the file's path, or "environment": what a ConfigError names
    env: Mapping[str, str]


def read_config(
    config_path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
) -> ConfigFile:
    """Read the file (``config_path``, else ``VIGIL_CONFIG``, else ``./vigil.yaml`` if there
    is one) and resolve the top level; raise ``ConfigError`` naming the file and key."""
    env = env if env is not None else {}
    path = Path(config_path) if config_path else _default_path(env)
    raw: dict[str, Any] = _read_yaml(path) if path else {}
    where = str(path) if path else "environment"
    # The file is validated whole even where a flag or variable overrides a value, so that
    # `vigil check` and `vigil serve --port $PORT` agree on what a valid file is.
    top = validate_section(TopLevel, raw, where=where, key="")
    if port is not None:
        port = _int(port, "command line", "--port", low=0, high=65535)
    elif env.get("VIGIL_PORT"):
        port = _int(env["VIGIL_PORT"], "environment", "VIGIL_PORT", low=0, high=65535)
    url = env.get("VIGIL_DATABASE_URL")
    if url and database_url_problem(url):
        raise ConfigError(database_url_problem(url), where="environment", key="VIGIL_DATABASE_URL")
    settings = BaseSettings(
        database_url=str(url or top.database_url or DEFAULT_DATABASE_URL),
        host=str(host or env.get("VIGIL_HOST") or top.http.host),
        port=port if port is not None else top.http.port,
        max_body_bytes=top.http.max_body_bytes,
        ingest_token=_secret(env.get("VIGIL_INGEST_TOKEN")),
        api_token=_secret(env.get("VIGIL_API_TOKEN")),
        log_level=str(env.get("VIGIL_LOG_LEVEL") or top.log_level or "INFO").upper(),
        templates_dir=top.templates_dir,
        postmortems_dir=top.postmortems_dir or Path("var/postmortems"),
        playbooks_dir=top.playbooks_dir,
        rules_dir=top.rules_dir,
        retrain_url=top.retrain_url,
        config_path=path,
        evidence_dir=top.evidence_dir or Path("var/evidence"),
        timer_poll=top.timer_poll,
    )
    return ConfigFile(settings, top, raw, where, env)


def _default_path(env: Mapping[str, str]) -> Path | None:
    if env.get("VIGIL_CONFIG"):
        return Path(env["VIGIL_CONFIG"])
    local = Path("vigil.yaml")
    return local if local.is_file() else None


def _read_yaml(path: Path) -> dict[str, Any]:
    data = read_yaml(path, unreadable="cannot read the config file ({reason})")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of settings", where=str(path))
    return data


def _int(value: object, where: str, key: str, *, low: int, high: int) -> int:
    try:
        return whole_number(value, low=low, high=high)
    except ValueError as exc:
        raise ConfigError(str(exc), where=where, key=key) from None


def _secret(value: str | None) -> Secret | None:
    return Secret(value) if value else None
