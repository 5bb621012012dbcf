"""Slack settings: credentials from the environment, routing and permissions from vigil.yaml.

Credentials never live in the file: ``SLACK_BOT_TOKEN`` and ``SLACK_SIGNING_SECRET`` (HTTP
mode), plus ``SLACK_APP_TOKEN`` for Socket Mode, and ``SLACK_API_URL`` to point the Web API
client at a stand-in or a proxy. Without a bot token Vigil runs on the console.

```yaml
slack:
  alerts_channel: "#incidents"          # where incident cards go
  channels: {"model:fraud-scorer": "#fraud-alerts", "service:payments": "#payments-oncall"}
  users: {"@maya": U0123ABCD}           # escalation targets → Slack user ids, for DMs
  responder_groups:                     # who may roll back, contain or change severity
    ml-oncall: [U0123ABCD, U0456EFGH]   # none configured: everyone may
  incident_channels: false              # true: each P1/P2 gets its own channel, card pinned,
  incident_channel_prefix: "inc-"       #   commander and paged people invited (inc-12-title)
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated

from pydantic import BeforeValidator, Field, PlainValidator
from pydantic_core import PydanticCustomError

from bot.config.model import ConfigModel, problem, validate_section
from bot.core.errors import ConfigError
from bot.core.secret import Secret

DEFAULT_API_URL = "https://slack.com/api/"
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_PREFIX = re.compile(r"[a-z0-9][a-z0-9_-]{0,20}")
INCIDENT_CHANNEL_SEVERITIES = frozenset({"P1", "P2"})


@dataclass(frozen=True)
class SlackSettings:
    bot_token: Secret
    signing_secret: Secret
    app_token: Secret | None = None
    api_url: str = DEFAULT_API_URL
    alerts_channel: str = "#incidents"
    channels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    users: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    responder_groups: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    incident_channels: bool = False
    incident_channel_prefix: str = "inc-"

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None

    def channel_for(self, *, service: str | None, model: str | None) -> str:
        """The channel of a model's or service's cards, else the alerts channel."""
        for key in (f"model:{model}" if model else "", f"service:{service}" if service else ""):
            if key and key in self.channels:
                return self.channels[key]
        return self.alerts_channel

    def user_id(self, target: str) -> str | None:
        """The Slack user id to DM for an escalation target, or None if it cannot be known."""
        match = _MENTION.fullmatch(target)
        if match:
            return match.group(1)
        if _USER_ID.fullmatch(target):
            return target
        return self.users.get(target)

    def wants_incident_channel(self, severity: str) -> bool:
        """Whether an incident of ``severity`` gets a channel of its own (P1 and P2, if on)."""
        return self.incident_channels and severity in INCIDENT_CHANNEL_SEVERITIES

    def may_respond(self, user_id: str) -> bool:
        """Responders may roll back, contain and change severity; no groups means everyone."""
        if not self.responder_groups:
            return True
        return any(user_id in members for members in self.responder_groups.values())


def _prefix(value: object) -> str:
    if not isinstance(value, str) or not _PREFIX.fullmatch(value):
        raise problem(
            "must be 1 to 21 characters of a-z, 0-9, - and _, starting with a letter or digit "
            '(Slack channel names are lowercase), like "inc-"'
        )
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem("must be a channel name like #incidents or an id")
    return value.strip()


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise problem("must be true or false")
    return value


def _strings(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise problem("must be a mapping")
    out: dict[str, str] = {}
    for name, item in value.items():
        try:
            out[str(name)] = _text(item)
        except PydanticCustomError:
            raise problem(
                "must be a channel name like #incidents or an id", at=(str(name),)
            ) from None
    return out


def _groups(value: object) -> dict[str, frozenset[str]]:
    if not isinstance(value, dict):
        raise problem("must be a mapping")
    out: dict[str, frozenset[str]] = {}
    for name, members in value.items():
        if not isinstance(members, list) or not all(
            isinstance(m, str) and _USER_ID.fullmatch(m) for m in members
        ):
            raise problem("must be a list of Slack user ids like U0123ABCD", at=(str(name),))
        out[str(name)] = frozenset(members)
    return out


class SlackSection(ConfigModel):
    """``slack:`` as written (the tokens come from the environment only)."""

    # In alphabetical order: an unknown key's message lists them so.
    alerts_channel: Annotated[str, BeforeValidator(_text)] = "#incidents"
    channels: Annotated[dict[str, str], BeforeValidator(_strings)] = Field(default_factory=dict)
    incident_channel_prefix: Annotated[str, BeforeValidator(_prefix)] = "inc-"
    incident_channels: Annotated[bool, BeforeValidator(_flag)] = False
    responder_groups: Annotated[dict[str, frozenset[str]], PlainValidator(_groups)] = Field(
        default_factory=dict
    )
    users: Annotated[dict[str, str], BeforeValidator(_strings)] = Field(default_factory=dict)


def load_slack_settings(raw: object, env: Mapping[str, str], *, where: str) -> SlackSettings | None:
    """Slack settings when ``SLACK_BOT_TOKEN`` is set, else None (the console is used).

    The section is validated whole either way, so ``vigil check`` on a laptop without the
    tokens finds the same mistakes as start-up in production."""
    section = validate_section(
        SlackSection, raw if raw is not None else {}, where=where, key="slack"
    )
    token = env.get("SLACK_BOT_TOKEN", "").strip()
    if not token:
        return None
    if not token.startswith("xoxb-"):
        raise ConfigError(
            "must be a bot token (it starts with xoxb-)", where="environment", key="SLACK_BOT_TOKEN"
        )
    secret = env.get("SLACK_SIGNING_SECRET", "").strip()
    app_token = env.get("SLACK_APP_TOKEN", "").strip()
    if not secret and not app_token:
        raise ConfigError(
            "is needed with SLACK_BOT_TOKEN (or set SLACK_APP_TOKEN for Socket Mode)",
            where="environment",
            key="SLACK_SIGNING_SECRET",
        )
    if app_token and not app_token.startswith("xapp-"):
        raise ConfigError(
            "must be an app-level token (it starts with xapp-)",
            where="environment",
            key="SLACK_APP_TOKEN",
        )
    api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL
    if not api_url.startswith(("http://", "https://")):
        raise ConfigError("must be an http(s) URL", where="environment", key="SLACK_API_URL")
    return SlackSettings(
        bot_token=Secret(token),
        signing_secret=Secret(secret),
        app_token=Secret(app_token) if app_token else None,
        api_url=api_url if api_url.endswith("/") else api_url + "/",
        alerts_channel=section.alerts_channel,
        channels=MappingProxyType(dict(section.channels)),
        users=MappingProxyType(dict(section.users)),
        responder_groups=MappingProxyType(dict(section.responder_groups)),
        incident_channels=section.incident_channels,
        incident_channel_prefix=section.incident_channel_prefix,
    )
