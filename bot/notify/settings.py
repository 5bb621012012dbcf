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
from urllib.parse import urlsplit

from bot.config_checks import known, mapping
from bot.errors import ConfigError
from bot.notify.base import DEFAULT_KEY_PREFIX
from bot.secret import Secret

CHANNELS = ("pagerduty", "email", "webhook")
# PagerDuty's Events API v2, and the length of its integration keys: here, not with the
# channel (bot.notify.pagerduty, which loads aiohttp), so reading vigil.yaml stays light.
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


def _text(value: object, where: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("must be a non-empty string", where=where, key=key)
    return value.strip()


def _url(value: object, where: str, key: str) -> str:
    text = _text(value, where, key)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("must be an http:// or https:// URL", where=where, key=key)
    return text


def _secret(env: Mapping[str, str], name: str, where: str, key: str) -> Secret:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"is on, so set {name} in the environment", where=where, key=key)
    return Secret(value)


def _pagerduty(raw: object, env: Mapping[str, str], where: str) -> PagerDutySettings:
    spec = mapping(raw if raw is not None else {}, where, "notify.pagerduty")
    known(spec, ("url", "source"), where, "notify.pagerduty")
    key = _secret(env, "VIGIL_PAGERDUTY_ROUTING_KEY", where, "notify.pagerduty")
    if len(key.reveal()) != ROUTING_KEY_LENGTH:
        raise ConfigError(
            f"VIGIL_PAGERDUTY_ROUTING_KEY must be the {ROUTING_KEY_LENGTH}-character "
            "integration key of an Events API v2 integration",
            where=where,
            key="notify.pagerduty",
        )
    secrets = tuple(
        Secret(part.strip())
        for part in env.get("VIGIL_PAGERDUTY_WEBHOOK_SECRET", "").split(",")
        if part.strip()
    )
    return PagerDutySettings(
        routing_key=key,
        url=_url(spec.get("url", DEFAULT_URL), where, "notify.pagerduty.url"),
        source=_text(spec.get("source", "vigil"), where, "notify.pagerduty.source"),
        webhook_secrets=secrets,
    )


def _email(raw: object, env: Mapping[str, str], where: str) -> EmailSettings:
    spec = mapping(raw, where, "notify.email")
    allowed = ("host", "port", "sender", "addresses", "username", "starttls", "implicit_tls")
    known(spec, allowed, where, "notify.email")
    port = spec.get("port", 587)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError("must be a port number", where=where, key="notify.email.port")
    addresses = mapping(spec.get("addresses", {}), where, "notify.email.addresses")
    username = spec.get("username")
    password = None
    if username is not None:
        username = _text(username, where, "notify.email.username")
        password = _secret(env, "VIGIL_SMTP_PASSWORD", where, "notify.email.username")
    flags = {}
    for flag, default in (("starttls", True), ("implicit_tls", False)):
        value = spec.get(flag, default)
        if not isinstance(value, bool):
            raise ConfigError("must be true or false", where=where, key=f"notify.email.{flag}")
        flags[flag] = value
    return EmailSettings(
        host=_text(spec.get("host"), where, "notify.email.host"),
        port=port,
        sender=_text(spec.get("sender"), where, "notify.email.sender"),
        addresses=MappingProxyType(
            {str(k): _text(v, where, f"notify.email.addresses.{k}") for k, v in addresses.items()}
        ),
        username=username,
        password=password,
        starttls=flags["starttls"],
        implicit_tls=flags["implicit_tls"],
    )


def _webhook(raw: object, env: Mapping[str, str], where: str) -> WebhookSettings:
    spec = mapping(raw, where, "notify.webhook")
    known(spec, ("url",), where, "notify.webhook")
    return WebhookSettings(
        url=_url(spec.get("url"), where, "notify.webhook.url"),
        secret=_secret(env, "VIGIL_WEBHOOK_SECRET", where, "notify.webhook"),
    )


def parse_notify(raw: object, env: Mapping[str, str], where: str) -> NotifySettings:
    """Validate ``notify:``; every error names its key (``notify.email.port``)."""
    if raw is None:
        return NotifySettings()
    spec = mapping(raw, where, "notify")
    known(spec, ("order", *CHANNELS, "key_prefix"), where, "notify")
    order = spec.get("order", [c for c in CHANNELS if c in spec])
    if not isinstance(order, list) or not all(isinstance(c, str) for c in order):
        raise ConfigError(
            f"must be a list of channels ({', '.join(CHANNELS)})", where=where, key="notify.order"
        )
    for i, name in enumerate(order):
        if name not in CHANNELS:
            raise ConfigError(
                f"{name!r} is not a channel ({', '.join(CHANNELS)})",
                where=where,
                key=f"notify.order[{i}]",
            )
        if order.count(name) > 1:
            raise ConfigError(f"{name!r} is listed twice", where=where, key=f"notify.order[{i}]")
        if name != "pagerduty" and name not in spec:
            raise ConfigError(
                f"{name!r} is in the order but has no `notify.{name}:` section",
                where=where,
                key=f"notify.order[{i}]",
            )
    prefix = _text(spec.get("key_prefix", DEFAULT_KEY_PREFIX), where, "notify.key_prefix")
    return NotifySettings(
        order=tuple(order),
        pagerduty=_pagerduty(spec.get("pagerduty"), env, where) if "pagerduty" in order else None,
        email=_email(spec["email"], env, where) if "email" in order else None,
        webhook=_webhook(spec["webhook"], env, where) if "webhook" in order else None,
        key_prefix=prefix,
    )
