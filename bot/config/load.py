"""Settings from the environment and ``vigil.yaml``, every section; fails fast naming the bad
key.

What ``vigil run``/``serve``/``demo`` need (the running bot uses every section) and what
``vigil check`` validates (the whole file): the top level as :mod:`bot.config.base` reads
it (``read_config``: the file, ``VIGIL_CONFIG``, the plain settings and their environment
variables), then each section through its own parser. The short verbs read only the top
level and the sections they use, through the same parsers (``bot/cli/verbs/``), so they
import none of the others.

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
from pathlib import Path
from types import MappingProxyType

from bot.chat.slack.settings import SlackSettings, load_slack_settings
from bot.config.base import DEFAULT_DATABASE_URL as DEFAULT_DATABASE_URL  # re-exported
from bot.config.base import BaseSettings, ConfigFile, base_fields, read_config
from bot.config.http import DEFAULT_MAX_BODY as DEFAULT_MAX_BODY  # re-exported
from bot.core.errors import ConfigError
from bot.heartbeats.spec import HeartbeatSpec, parse_heartbeats
from bot.incidents.policy.classify import Policy
from bot.incidents.quiet import parse_auto_resolve
from bot.incidents.settings import IncidentSettings
from bot.incidents.subjects import parse_subjects
from bot.monitoring.settings import QualitySettings, parse_quality
from bot.notify.settings import NotifySettings, parse_notify
from bot.oncall.paging.config import parse_routing
from bot.oncall.schedules.config import parse_rosters
from bot.oncall.settings import OncallSettings
from bot.oncall.sla.config import parse_sla
from bot.registry.settings import RegistrySettings, parse_registry
from bot.retrain.config import ModelRetraining, parse_retraining
from bot.rollout.settings import RolloutSettings, parse_rollout
from bot.rules.heightened.config import Sensitivity, parse_sensitivity
from bot.rules.loader import default_rules_file
from bot.silences.config import parse_inhibit_rules
from bot.silences.inhibit import DEFAULT_RULES, InhibitRule
from bot.silences.window_config import parse_maintenance
from bot.silences.windows import Window
from bot.sources.config import (
    HttpCheckSettings as HttpCheckSettings,  # re-exported: callers import them from here
)
from bot.sources.config import PrometheusSettings as PrometheusSettings
from bot.sources.config import SourcesSettings, parse_sources


@dataclass(frozen=True)
class Settings(BaseSettings):
    """The plain settings (:class:`bot.config.base.BaseSettings`) and every section's."""

    incidents: IncidentSettings = field(default_factory=IncidentSettings)
    oncall: OncallSettings = field(default_factory=OncallSettings)
    slack: SlackSettings | None = None  # None: the console is the chat
    # Per model: its orchestrator, cron schedule, drift trigger, cooldown (bot.retrain).
    retraining: Mapping[str, ModelRetraining] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )
    sources: SourcesSettings = field(default_factory=SourcesSettings)
    heartbeats: Mapping[str, HeartbeatSpec] = field(default_factory=lambda: MappingProxyType({}))
    quality: QualitySettings = field(default_factory=QualitySettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    registry: RegistrySettings = field(default_factory=RegistrySettings)  # where models move
    rollout: RolloutSettings = field(default_factory=RolloutSettings)  # progressive rollouts
    inhibit_rules: tuple[InhibitRule, ...] = DEFAULT_RULES  # which firing alerts mute others
    maintenance: tuple[Window, ...] = ()  # planned windows that hush what they name
    # How long and how tightly rules watch a subject after its incident resolves.
    sensitivity: Sensitivity = field(default_factory=Sensitivity)


def load_settings(
    config_path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
) -> Settings:
    """Build settings; raise ``ConfigError`` naming the file and key on the first problem
    (the top level first, then the sections in the order below)."""
    file = read_config(config_path, env, host=host, port=port)
    top, where, env = file.top, file.where, file.env
    return Settings(
        **base_fields(file.settings),
        incidents=IncidentSettings(
            group_by=top.group_by,
            policy=Policy.from_config(top.classification, where=where),
            models=parse_subjects(top.models, where, "models"),
            services=parse_subjects(top.services, where, "services"),
            auto_resolve=parse_auto_resolve(top.auto_resolve, where),
        ),
        oncall=_oncall(file),
        slack=load_slack_settings(top.slack, env, where=where),
        retraining=parse_retraining(top.retraining, env, where, retrain_url=top.retrain_url),
        sources=parse_sources(top.sources, where),
        heartbeats=parse_heartbeats(top.heartbeats, where),
        quality=parse_quality(top.quality, where),
        notify=parse_notify(top.notify, env, where),
        registry=parse_registry(top.registry, env, where),
        rollout=parse_rollout(top.rollout, where),
        inhibit_rules=parse_inhibit_rules(top.inhibit_rules, where=where),
        maintenance=parse_maintenance(top.maintenance, where),
        sensitivity=parse_sensitivity(top.sensitivity, where),
    )


def _oncall(file: ConfigFile) -> OncallSettings:
    top, where = file.top, file.where
    rotations, schedules = parse_rosters(top.schedules, top.rotations, where=where)
    routing = parse_routing(
        file.raw, where=where, schedules=set(schedules), rotations=set(rotations)
    )
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
