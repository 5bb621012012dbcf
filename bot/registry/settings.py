"""The ``registry:`` section of vigil.yaml: where ``/rollback`` and ``vigil model`` move models.

    registry:
      kind: mlflow                  # builtin (the default) | mlflow | webhook
      mlflow:
        tracking_uri: http://mlflow.internal:5000
        stable_alias: champion      # the alias your serving layer loads
        canary_alias: challenger
      webhook:
        url: https://serving.internal/vigil/moves

``builtin`` keeps model versions in Vigil's own database and moves nothing outside it.
``mlflow`` moves MLflow model registry aliases; ``webhook`` POSTs each move, signed, to a
serving layer of your own. Secrets come from the environment only: ``VIGIL_MLFLOW_TOKEN``
(optional, sent as ``Authorization: Bearer``) and ``VIGIL_REGISTRY_WEBHOOK_SECRET``
(required for ``webhook``, at least 16 characters). Pure: no HTTP library is loaded to read
the section, so ``vigil check`` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, model_validator

from bot.config.model import ConfigModel, problem, validate_section
from bot.core.errors import ConfigError
from bot.core.secret import Secret

KINDS = ("builtin", "mlflow", "webhook")
Kind = Literal["builtin", "mlflow", "webhook"]
TOKEN_ENV = "VIGIL_MLFLOW_TOKEN"  # noqa: S105 (the variable's name, not a token)
SECRET_ENV = "VIGIL_REGISTRY_WEBHOOK_SECRET"  # noqa: S105 (a name)
MIN_SECRET_LENGTH = 16
"""As for the notify webhook: a shorter signing secret could be guessed."""


@dataclass(frozen=True)
class MlflowSettings:
    tracking_uri: str = field(repr=False)  # may carry user:password
    stable_alias: str = "champion"
    canary_alias: str = "challenger"
    token: Secret | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ServingWebhookSettings:
    url: str = field(repr=False)  # may carry a token
    secret: Secret = field(repr=False)


@dataclass(frozen=True)
class RegistrySettings:
    kind: Kind = "builtin"
    mlflow: MlflowSettings | None = None
    webhook: ServingWebhookSettings | None = None

    def describe(self) -> str:
        """One line for ``vigil check``: where moves go (hosts only, never a secret)."""
        if self.kind == "mlflow" and self.mlflow is not None:
            m = self.mlflow
            auth = f", token from {TOKEN_ENV}" if m.token is not None else ""
            return (
                f"model registry: MLflow at {host_of(m.tracking_uri)} "
                f"(alias {m.stable_alias} = stable, {m.canary_alias} = canary{auth})"
            )
        if self.kind == "webhook" and self.webhook is not None:
            return (
                f"model registry: serving webhook {host_of(self.webhook.url)} "
                f"(signed with {SECRET_ENV})"
            )
        return "model registry: built-in (Vigil's database; moves reach nothing outside it)"


def host_of(url: str) -> str:
    """``scheme://host:port``: enough to recognise a URL without its credentials or path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.netloc else "(no host)"


def _url(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem("must be an http:// or https:// URL")
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise problem("must be an http:// or https:// URL")
    return text.rstrip("/")


def _alias(value: object) -> str:
    # MLflow's own rule for alias names, checked here so a typo fails at start, not at 2 a.m.
    text = value if isinstance(value, str) else ""
    if not 0 < len(text) <= 255 or not all(c.isalnum() or c in "_-" for c in text):
        raise problem("must be an alias name: letters, digits, '_' or '-'")
    low = text.lower()
    if low == "latest" or (low.startswith("v") and low[1:].isdigit()):
        raise problem(f"{text!r} is reserved by MLflow")
    return text


Url = Annotated[str, BeforeValidator(_url)]
Alias = Annotated[str, BeforeValidator(_alias)]


class MlflowSection(ConfigModel):
    tracking_uri: Url = Field(default=None, validate_default=True)
    stable_alias: Alias = "champion"
    canary_alias: Alias = "challenger"

    @model_validator(mode="after")
    def _distinct(self) -> MlflowSection:
        if self.stable_alias == self.canary_alias:
            raise problem("must differ from stable_alias", at=("canary_alias",))
        return self


class WebhookSection(ConfigModel):
    url: Url = Field(default=None, validate_default=True)


def _kind(value: object) -> str:
    if value not in KINDS:
        raise problem(f"must be one of {', '.join(KINDS)}")
    return str(value)


class RegistrySection(ConfigModel):
    """``registry:`` as written; the chosen kind's own section is required."""

    kind: Annotated[str, BeforeValidator(_kind)] = "builtin"
    mlflow: MlflowSection | None = None
    webhook: WebhookSection | None = None

    @model_validator(mode="after")
    def _kind_has_its_section(self) -> RegistrySection:
        if self.kind != "builtin" and getattr(self, self.kind) is None:
            raise problem(f"is {self.kind}, so add a `registry.{self.kind}:` section", at=("kind",))
        return self


def parse_registry(raw: object, env: Mapping[str, str], where: str) -> RegistrySettings:
    """Validate ``registry:``; every error names its key (``registry.mlflow.tracking_uri``)."""
    if raw is None:
        return RegistrySettings()
    spec = validate_section(RegistrySection, raw, where=where, key="registry")
    if spec.kind == "mlflow" and spec.mlflow is not None:
        token = env.get(TOKEN_ENV, "").strip()
        m = spec.mlflow
        return RegistrySettings(
            kind="mlflow",
            mlflow=MlflowSettings(
                m.tracking_uri, m.stable_alias, m.canary_alias, Secret(token) if token else None
            ),
        )
    if spec.kind == "webhook" and spec.webhook is not None:
        secret = env.get(SECRET_ENV, "").strip()
        if len(secret) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"is on, so set {SECRET_ENV} in the environment "
                f"(at least {MIN_SECRET_LENGTH} characters)",
                where=where,
                key="registry.webhook",
            )
        return RegistrySettings(
            kind="webhook", webhook=ServingWebhookSettings(spec.webhook.url, Secret(secret))
        )
    return RegistrySettings()
