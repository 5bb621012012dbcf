"""Settings from the environment and ``vigil.yaml``; fails fast naming the bad key.

Precedence: command-line flags > environment variables > ``vigil.yaml`` > embedded
defaults. The embedded defaults run the bot with nothing configured at all: SQLite under
``./var/``, HTTP on 127.0.0.1:8080, the console chat backend.

Environment: ``VIGIL_CONFIG`` (path of vigil.yaml), ``VIGIL_DATABASE_URL``, ``VIGIL_HOST``,
``VIGIL_PORT``, ``VIGIL_INGEST_TOKEN``, ``VIGIL_API_TOKEN``, ``VIGIL_LOG_LEVEL``; Slack's
``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET``, ``SLACK_APP_TOKEN``, ``SLACK_API_URL``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.chat.slack.settings import SlackSettings, load_slack_settings
from bot.config.checks import (
    whole_number,
)
from bot.config.http import DEFAULT_MAX_BODY as DEFAULT_MAX_BODY  # re-exported
from bot.config.model import validate_section
from bot.config.top import TopLevel, database_url_problem
from bot.core.errors import ConfigError
from bot.core.secret import Secret
from bot.core.yamlfile import read_yaml
from bot.heartbeats.spec import HeartbeatSpec, parse_heartbeats
from bot.incidents.policy.classify import Policy
from bot.incidents.quiet import parse_auto_resolve
from bot.incidents.settings import IncidentSettings
from bot.incidents.subjects import parse_subjects
from bot.monitoring.settings import QualitySettings, parse_quality
from bot.notify.settings import NotifySettings, parse_notify
from bot.oncall.paging.config import parse_routing
from bot.oncall.schedules.config import parse_roster, parse_schedules
from bot.oncall.settings import OncallSettings
from bot.oncall.sla.config import parse_sla
from bot.registry.settings import RegistrySettings, parse_registry
from bot.retrain.config import ModelRetraining, parse_retraining
from bot.rollout.settings import RolloutSettings, parse_rollout
from bot.rules.loader import default_rules_file
from bot.sources.config import (
    HttpCheckSettings as HttpCheckSettings,  # re-exported: callers import them from here
)
from bot.sources.config import PrometheusSettings as PrometheusSettings
from bot.sources.config import SourcesSettings, parse_sources

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/vigil.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)  # may hold a password
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = DEFAULT_MAX_BODY
    ingest_token: Secret | None = None
    api_token: Secret | None = None
    log_level: str = "INFO"
    incidents: IncidentSettings = field(default_factory=IncidentSettings)
    oncall: OncallSettings = field(default_factory=OncallSettings)
    slack: SlackSettings | None = None  # None: the console is the chat
    templates_dir: Path | None = None  # overrides for the bundled templates, searched first
    postmortems_dir: Path = Path("var/postmortems")
    playbooks_dir: Path | None = None  # your playbooks, searched before the bundled ones
    rules_dir: Path | None = None  # your rules/*.yaml, overriding the bundled ones by name
    retrain_url: str | None = field(default=None, repr=False)  # may hold credentials
    # Per model: its orchestrator, cron schedule, drift trigger, cooldown (bot.retrain).
    retraining: Mapping[str, ModelRetraining] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )
    config_path: Path | None = None
    sources: SourcesSettings = field(default_factory=SourcesSettings)
    heartbeats: Mapping[str, HeartbeatSpec] = field(default_factory=lambda: MappingProxyType({}))
    quality: QualitySettings = field(default_factory=QualitySettings)
    evidence_dir: Path = Path("var/evidence")  # charts attached to model-quality incidents
    notify: NotifySettings = field(default_factory=NotifySettings)
    registry: RegistrySettings = field(default_factory=RegistrySettings)  # where models move
    rollout: RolloutSettings = field(default_factory=RolloutSettings)  # progressive rollouts
    # How often each replica looks for timers another replica scheduled (the takeover bound).
    timer_poll: timedelta = timedelta(seconds=5)


def load_settings(
    config_path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
) -> Settings:
    """Build settings; raise ``ConfigError`` naming the file and key on the first problem."""
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
    return Settings(
        database_url=str(url or top.database_url or DEFAULT_DATABASE_URL),
        host=str(host or env.get("VIGIL_HOST") or top.http.host),
        port=port if port is not None else top.http.port,
        max_body_bytes=top.http.max_body_bytes,
        ingest_token=_secret(env.get("VIGIL_INGEST_TOKEN")),
        api_token=_secret(env.get("VIGIL_API_TOKEN")),
        log_level=str(env.get("VIGIL_LOG_LEVEL") or top.log_level or "INFO").upper(),
        incidents=IncidentSettings(
            group_by=top.group_by,
            policy=Policy.from_config(top.classification, where=where),
            models=parse_subjects(top.models, where, "models"),
            services=parse_subjects(top.services, where, "services"),
            auto_resolve=parse_auto_resolve(top.auto_resolve, where),
        ),
        oncall=_oncall(raw, top, where),
        slack=load_slack_settings(top.slack, env, where=where),
        templates_dir=top.templates_dir,
        postmortems_dir=top.postmortems_dir or Path("var/postmortems"),
        playbooks_dir=top.playbooks_dir,
        rules_dir=top.rules_dir,
        retrain_url=top.retrain_url,
        retraining=parse_retraining(top.retraining, env, where, retrain_url=top.retrain_url),
        config_path=path,
        sources=parse_sources(top.sources, where),
        heartbeats=parse_heartbeats(top.heartbeats, where),
        quality=parse_quality(top.quality, where),
        notify=parse_notify(top.notify, env, where),
        registry=parse_registry(top.registry, env, where),
        rollout=parse_rollout(top.rollout, where),
        timer_poll=top.timer_poll,
        evidence_dir=top.evidence_dir or Path("var/evidence"),
    )


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


def _oncall(raw: Mapping[str, Any], top: TopLevel, where: str) -> OncallSettings:
    rotations = parse_roster(top.rotations, where=where)
    schedules = parse_schedules(top.schedules, where=where)
    both = sorted(set(rotations) & set(schedules))
    if both:
        raise ConfigError(
            f"{both[0]!r} is both a rotation and a schedule; rename one",
            where=where,
            key=f"schedules.{both[0]}",
        )
    routing = parse_routing(raw, where=where, schedules=set(schedules), rotations=set(rotations))
    return OncallSettings(
        routing,
        MappingProxyType(rotations),
        MappingProxyType(schedules),
        parse_sla(top.sla, where=where, calendar=routing.working_hours),
    )


def rule_files(settings: Settings) -> list[Path]:
    """The rules files Vigil loads, in order: the bundled ``default.yaml``, then
    ``rules_dir/*.yaml`` sorted by name (later files override earlier ones by rule name).

    A ``rules_dir`` that is set but is not a directory is a ConfigError naming the key.
    """
    files = [default_rules_file()]
    if settings.rules_dir is not None:
        where = str(settings.config_path) if settings.config_path else "environment"
        if not settings.rules_dir.is_dir():
            raise ConfigError(
                f"{settings.rules_dir} is not a directory", where=where, key="rules_dir"
            )
        files += sorted(p for p in settings.rules_dir.glob("*.yaml") if p.is_file())
    return files


def _secret(value: str | None) -> Secret | None:
    return Secret(value) if value else None
