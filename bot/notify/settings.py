"""The ``notify:`` section of vigil.yaml: which channels a page goes through, in what order.

    notify:
      order: [pagerduty, email, webhook]   # tried in order until one takes the page
      pagerduty: {url: https://events.pagerduty.com/v2/enqueue, source: vigil}
      email: {host: smtp.internal, port: 587, sender: vigil@example.com,
              addresses: {"@maya": maya@example.com}, username: vigil}
      webhook: {url: https://hooks.internal/vigil}

Secrets come from the environment only, never the file: ``VIGIL_PAGERDUTY_ROUTING_KEY``,
``VIGIL_PAGERDUTY_WEBHOOK_SECRET`` (comma-separated during a rotation),
``VIGIL_SMTP_PASSWORD``, ``VIGIL_WEBHOOK_SECRET``. A channel named in ``order`` without its
secret is a configuration error at start, not a page that silently goes nowhere at 2 a.m.

The chat backends (Slack DM, the console) always page as well; these channels are for
reaching people where chat cannot (PagerDuty's phone calls, e-mail) and for other systems.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from bot.config.model import ConfigModel, problem, validate_section
from bot.core.errors import ConfigError
from bot.core.secret import Secret
from bot.notify.base import DEFAULT_KEY_PREFIX

CHANNELS = ("pagerduty", "email", "webhook")
# PagerDuty's Events API v2, and the length of its integration keys: here, not with the
# channel (bot.notify.pagerduty.events, which loads aiohttp), so reading vigil.yaml stays light.
DEFAULT_URL = "https://events.pagerduty.com/v2/enqueue"
ROUTING_KEY_LENGTH = 32


@dataclass(frozen=True)
class PagerDutySettings:
    routing_key: Secret = field(repr=False)
    url: str = DEFAULT_URL
    source: str = "vigil"
    webhook_secrets: tuple[Secret, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class EmailSettings:
    host: str
    port: int
    sender: str
    addresses: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    username: str | None = None
    password: Secret | None = field(default=None, repr=False)
    starttls: bool = True
    implicit_tls: bool = False


@dataclass(frozen=True)
class WebhookSettings:
    url: str = field(repr=False)  # may carry a token
    secret: Secret = field(repr=False)


@dataclass(frozen=True)
class NotifySettings:
    order: tuple[str, ...] = ()
    pagerduty: PagerDutySettings | None = None
    email: EmailSettings | None = None
    webhook: WebhookSettings | None = None
    key_prefix: str = DEFAULT_KEY_PREFIX


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem("must be a non-empty string")
    return value.strip()


def _url(value: object) -> str:
    text = _text(value)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise problem("must be an http:// or https:// URL")
    return text


def _port(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise problem("must be a port number")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise problem("must be true or false")
    return value


def _addresses(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise problem("must be a mapping")
    out: dict[str, str] = {}
    for name, address in value.items():
        try:
            out[str(name)] = _text(address)
        except PydanticCustomError:
            raise problem("must be a non-empty string", at=(str(name),)) from None
    return out


Text = Annotated[str, BeforeValidator(_text)]
Url = Annotated[str, BeforeValidator(_url)]
Flag = Annotated[bool, BeforeValidator(_flag)]


class PagerDutySection(ConfigModel):
    url: Url = DEFAULT_URL
    source: Text = "vigil"


class EmailSection(ConfigModel):
    host: Text = Field(default=None, validate_default=True)
    port: Annotated[int, BeforeValidator(_port)] = 587
    sender: Text = Field(default=None, validate_default=True)
    addresses: Annotated[dict[str, str], BeforeValidator(_addresses)] = Field(default_factory=dict)
    username: Text | None = None
    starttls: Flag = True
    implicit_tls: Flag = False


class WebhookSection(ConfigModel):
    url: Url = Field(default=None, validate_default=True)


def _channels(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise problem(f"must be a list of channels ({', '.join(CHANNELS)})")
    return value


class NotifySection(ConfigModel):
    """``notify:`` as written. A channel's own section is validated only when ``order``
    names it (:func:`parse_notify`), so a section kept for later does not stop the bot."""

    order: Annotated[list[str] | None, BeforeValidator(_channels)] = None  # null: an error
    pagerduty: object = None
    email: object = None
    webhook: object = None
    key_prefix: Text = DEFAULT_KEY_PREFIX

    @model_validator(mode="after")
    def _order_names_configured_channels(self) -> NotifySection:
        for i, name in enumerate(self.channels()):
            if name not in CHANNELS:
                raise problem(f"{name!r} is not a channel ({', '.join(CHANNELS)})", at=("order", i))
            if self.channels().count(name) > 1:
                raise problem(f"{name!r} is listed twice", at=("order", i))
            if name != "pagerduty" and name not in self.model_fields_set:
                raise problem(
                    f"{name!r} is in the order but has no `notify.{name}:` section",
                    at=("order", i),
                )
        return self

    def channels(self) -> list[str]:
        """``order``, or by default every channel that has a section, in CHANNELS order."""
        if self.order is not None:
            return self.order
        return [c for c in CHANNELS if c in self.model_fields_set]


def _secret(env: Mapping[str, str], name: str, where: str, key: str) -> Secret:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"is on, so set {name} in the environment", where=where, key=key)
    return Secret(value)


def _pagerduty(raw: object, env: Mapping[str, str], where: str) -> PagerDutySettings:
    key = "notify.pagerduty"
    spec = validate_section(PagerDutySection, raw if raw is not None else {}, where=where, key=key)
    routing_key = _secret(env, "VIGIL_PAGERDUTY_ROUTING_KEY", where, key)
    if len(routing_key.reveal()) != ROUTING_KEY_LENGTH:
        raise ConfigError(
            f"VIGIL_PAGERDUTY_ROUTING_KEY must be the {ROUTING_KEY_LENGTH}-character "
            "integration key of an Events API v2 integration",
            where=where,
            key=key,
        )
    secrets = tuple(
        Secret(part.strip())
        for part in env.get("VIGIL_PAGERDUTY_WEBHOOK_SECRET", "").split(",")
        if part.strip()
    )
    return PagerDutySettings(
        routing_key=routing_key, url=spec.url, source=spec.source, webhook_secrets=secrets
    )


def _email(raw: object, env: Mapping[str, str], where: str) -> EmailSettings:
    spec = validate_section(EmailSection, raw, where=where, key="notify.email")
    password = None
    if spec.username is not None:
        password = _secret(env, "VIGIL_SMTP_PASSWORD", where, "notify.email.username")
    return EmailSettings(
        host=spec.host,
        port=spec.port,
        sender=spec.sender,
        addresses=MappingProxyType(dict(spec.addresses)),
        username=spec.username,
        password=password,
        starttls=spec.starttls,
        implicit_tls=spec.implicit_tls,
    )


def _webhook(raw: object, env: Mapping[str, str], where: str) -> WebhookSettings:
    spec = validate_section(WebhookSection, raw, where=where, key="notify.webhook")
    return WebhookSettings(
        url=spec.url, secret=_secret(env, "VIGIL_WEBHOOK_SECRET", where, "notify.webhook")
    )


def parse_notify(raw: object, env: Mapping[str, str], where: str) -> NotifySettings:
    """Validate ``notify:``; every error names its key (``notify.email.port``)."""
    if raw is None:
        return NotifySettings()
    spec = validate_section(NotifySection, raw, where=where, key="notify")
    order = spec.channels()
    return NotifySettings(
        order=tuple(order),
        pagerduty=_pagerduty(spec.pagerduty, env, where) if "pagerduty" in order else None,
        email=_email(spec.email, env, where) if "email" in order else None,
        webhook=_webhook(spec.webhook, env, where) if "webhook" in order else None,
        key_prefix=spec.key_prefix,
    )
