"""The ``retraining:`` section of vigil.yaml: per model, who retrains it and when.

    retraining:
      fraud-scorer:
        airflow: {url: https://airflow.internal, dag_id: retrain_fraud, api: v1,
                  token_env: VIGIL_AIRFLOW_TOKEN}
        schedule: "0 3 * * 1"          # cron (UTC): every Monday 03:00
        drift: {drifted: 3, of: 6, window: 1h}
        cooldown: 24h
        poll: 1m

Exactly one orchestrator per model: ``airflow`` (``api: v1`` for Airflow 2, ``v2`` for
Airflow 3), ``prefect`` (``url`` is ``PREFECT_API_URL``, ``deployment_id``), ``github``
(``repo: owner/name``, ``workflow``, ``ref``) or ``webhook`` (``url``, by default
``retrain_url``). Tokens come from the environment only, never the file: ``token_env``
names the variable, and a variable that is named but empty is an error at start, not a
401 at 2 a.m. Validating a cron expression loads APScheduler's trigger parser, so this
module is not in the pure list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Annotated, Literal

from apscheduler.triggers.cron import CronTrigger
from pydantic import BeforeValidator, Field, model_validator

from bot.config.checks import http_url, positive_duration
from bot.config.model import ConfigModel, problem, validate_section
from bot.core.errors import ConfigError
from bot.core.secret import Secret

Kind = Literal["airflow", "prefect", "github", "webhook"]
KINDS: tuple[Kind, ...] = ("airflow", "prefect", "github", "webhook")
GITHUB_API = "https://api.github.com"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Orchestration:
    """Where a model's retraining runs, with what it needs to reach it."""

    kind: Kind
    url: str = field(repr=False)  # may carry credentials: never shown whole
    token: Secret | None = field(default=None, repr=False)
    username: str | None = None  # Airflow: Basic auth with the token as password
    dag_id: str = ""
    api: Literal["v1", "v2"] = "v1"
    deployment_id: str = ""
    repo: str = ""
    workflow: str = ""
    ref: str = "main"


@dataclass(frozen=True)
class DriftTrigger:
    """Retrain when ``drifted`` of the last ``of`` windows of ``window`` drifted: a window
    drifted when most of the polls in it saw input PSI above ``psi`` or output KL above
    ``kl`` (the bundled rules' thresholds by default)."""

    drifted: int
    of: int
    window: timedelta
    psi: float = 0.2
    kl: float = 0.1


@dataclass(frozen=True)
class ModelRetraining:
    model: str
    orchestration: Orchestration
    schedule: str | None = None
    drift: DriftTrigger | None = None
    cooldown: timedelta = timedelta(hours=24)
    poll: timedelta = timedelta(minutes=1)


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem("must be a non-empty string")
    return value.strip()


def _url(value: object) -> str:
    try:
        return http_url(value)
    except ValueError as exc:
        raise problem(str(exc)) from None


def _env_name(value: object) -> str:
    if not isinstance(value, str) or not _ENV_NAME.match(value):
        raise problem("must be the name of an environment variable, e.g. VIGIL_AIRFLOW_TOKEN")
    return value


def _duration(value: object) -> timedelta:
    try:
        return positive_duration(value)
    except ValueError as exc:
        raise problem(str(exc)) from None


def _cron(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem('must be a cron expression, e.g. "0 3 * * 1" (Mondays 03:00 UTC)')
    try:
        CronTrigger.from_crontab(value.strip(), timezone="UTC")
    except ValueError as exc:
        raise problem(f"is not a cron expression of five fields ({exc})") from None
    return value.strip()


def _repo(value: object) -> str:
    if not isinstance(value, str) or not _REPO.match(value):
        raise problem("must be owner/name, e.g. acme/models")
    return value


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise problem(f"must be a whole number from 1 to 1000, got {value!r}")
    return value


def _threshold(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise problem(f"must be a number above 0, got {value!r}")
    return float(value)


Text = Annotated[str, BeforeValidator(_text)]
Url = Annotated[str, BeforeValidator(_url)]
EnvName = Annotated[str, BeforeValidator(_env_name)]
Duration = Annotated[timedelta, BeforeValidator(_duration)]


class _Airflow(ConfigModel):
    url: Url = Field(default=None, validate_default=True)
    dag_id: Text = Field(default=None, validate_default=True)
    api: Literal["v1", "v2"] = "v1"
    token_env: EnvName | None = None
    username: Text | None = None


class _Prefect(ConfigModel):
    url: Url = Field(default=None, validate_default=True)
    deployment_id: Text = Field(default=None, validate_default=True)
    token_env: EnvName | None = None


class _GitHub(ConfigModel):
    repo: Annotated[str, BeforeValidator(_repo)] = Field(default=None, validate_default=True)
    workflow: Text = Field(default=None, validate_default=True)
    ref: Text = "main"
    url: Url = GITHUB_API
    token_env: EnvName = Field(default=None, validate_default=True)


class _Webhook(ConfigModel):
    url: Url | None = None  # None: retrain_url
    token_env: EnvName | None = None


class _Drift(ConfigModel):
    drifted: Annotated[int, BeforeValidator(_count)] = Field(default=None, validate_default=True)
    of: Annotated[int, BeforeValidator(_count)] = Field(default=None, validate_default=True)
    window: Duration = Field(default=None, validate_default=True)
    psi: Annotated[float, BeforeValidator(_threshold)] = 0.2
    kl: Annotated[float, BeforeValidator(_threshold)] = 0.1

    @model_validator(mode="after")
    def _k_of_n(self) -> _Drift:
        if self.drifted > self.of:
            raise problem(f"is more than of ({self.of}): it could never happen", at=("drifted",))
        return self


class _Model(ConfigModel):
    airflow: _Airflow | None = None
    prefect: _Prefect | None = None
    github: _GitHub | None = None
    webhook: _Webhook | None = None
    schedule: Annotated[str | None, BeforeValidator(_cron)] = None
    drift: _Drift | None = None
    cooldown: Duration = timedelta(hours=24)
    poll: Duration = timedelta(minutes=1)

    @model_validator(mode="after")
    def _one_orchestrator(self) -> _Model:
        chosen = [k for k in KINDS if getattr(self, k) is not None]
        if len(chosen) != 1:
            said = f"got {', '.join(chosen)}" if chosen else "got none"
            raise problem(f"set exactly one orchestrator ({', '.join(KINDS)}); {said}")
        return self

    def kind(self) -> Kind:
        return next(k for k in KINDS if getattr(self, k) is not None)


def _token(env: Mapping[str, str], name: str | None, where: str, key: str) -> Secret | None:
    if name is None:
        return None
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"names {name}, so set {name} in the environment", where=where, key=key)
    return Secret(value)


def _orchestration(
    spec: _Model, env: Mapping[str, str], where: str, key: str, retrain_url: str | None
) -> Orchestration:
    kind = spec.kind()
    at = f"{key}.{kind}.token_env"
    if spec.airflow is not None:
        a = spec.airflow
        return Orchestration(
            kind, a.url.rstrip("/"), _token(env, a.token_env, where, at), a.username,
            dag_id=a.dag_id, api=a.api,
        )  # fmt: skip
    if spec.prefect is not None:
        p = spec.prefect
        token = _token(env, p.token_env, where, at)
        return Orchestration(kind, p.url.rstrip("/"), token, deployment_id=p.deployment_id)
    if spec.github is not None:
        g = spec.github
        token = _token(env, g.token_env, where, at)
        return Orchestration(
            kind, g.url.rstrip("/"), token, repo=g.repo, workflow=g.workflow, ref=g.ref
        )
    assert spec.webhook is not None
    url = spec.webhook.url or retrain_url
    if url is None:
        raise ConfigError(
            "has no url and retrain_url is not set: say where to post",
            where=where,
            key=f"{key}.webhook.url",
        )
    return Orchestration(kind, url, _token(env, spec.webhook.token_env, where, at))


def parse_retraining(
    raw: object, env: Mapping[str, str], where: str, *, retrain_url: str | None
) -> Mapping[str, ModelRetraining]:
    """Validate ``retraining:``; every error names its key
    (``retraining.fraud-scorer.airflow.dag_id``)."""
    if raw is None:
        return MappingProxyType({})
    if not isinstance(raw, dict):
        raise ConfigError("must be a mapping of model names to their retraining", where=where,
                          key="retraining")  # fmt: skip
    out: dict[str, ModelRetraining] = {}
    for name, value in raw.items():
        key = f"retraining.{name}"
        spec = validate_section(_Model, value, where=where, key=key)
        drift = None
        if spec.drift is not None:
            d = spec.drift
            drift = DriftTrigger(d.drifted, d.of, d.window, d.psi, d.kl)
        out[str(name)] = ModelRetraining(
            model=str(name),
            orchestration=_orchestration(spec, env, where, key, retrain_url),
            schedule=spec.schedule,
            drift=drift,
            cooldown=spec.cooldown,
            poll=spec.poll,
        )
    return MappingProxyType(out)
