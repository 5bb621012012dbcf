"""The canary judge over HTTP, for teams already on Flagger or Argo Rollouts.

- ``GET /api/v1/judge/{model}?canary=V[&baseline=W][&since=RFC3339]``: Argo Rollouts' web
  metric provider, which GETs the ``url`` with the ``headers`` it is given (the API token
  as ``Authorization: Bearer``) and reads the JSON body. Always 200 with the judgement:
  ``{"verdict": "pass"|"marginal"|"fail"|"inconclusive", "pass": bool, "score",
  "summary", "metrics": [...]}``; the metric's ``jsonPath: "{$.verdict}"`` makes that
  string Argo's ``result``, matched by ``successCondition: result == "pass"`` and
  ``failureCondition: result == "fail"`` (neither: Argo's inconclusive). An error status
  (400 bad input, 404 unknown model) is Argo's measurement error.
- ``POST /api/v1/judge/flagger``: Flagger's webhook body, ``{"name", "namespace",
  "phase", "checksum", "metadata": {string: string}}`` (any other key is ignored);
  ``metadata.model`` (default ``name``), ``metadata.canary`` (required),
  ``metadata.baseline``, ``metadata.since``. Flagger reads only the status: 2xx goes on,
  anything else halts (and counts toward the analysis threshold, for ``pre-rollout`` and
  ``rollout`` hooks); it cannot send headers, so with an API token set it goes in
  ``metadata.token``. Flagger does not say which kind of hook called, so
  ``metadata.gate`` says what 200 means:

  - ``pass`` (default; ``confirm-rollout``, ``confirm-traffic-increase``,
    ``confirm-promotion``): 200 on PASS only, else 412 (Flagger waits while the judge is
    not sure);
  - ``fail-only`` (a ``rollout`` or ``pre-rollout`` check): 200 unless FAIL, so "no values
    yet" at low traffic never fails a canary;
  - ``rollback`` (a ``rollback`` hook, where 2xx makes Flagger roll back): 200 on FAIL
    only, else 412.

  The judgement is in the body either way (Flagger logs a non-2xx body in its events).

The shapes were checked against the projects' own documentation:
https://docs.flagger.app/usage/webhooks (hook types, the payload, "200-202 advance,
timeout or non-2xx halt") and https://argo-rollouts.readthedocs.io/en/stable/analysis/web/
(``url``, ``headers``, ``jsonPath``, ``successCondition``/``failureCondition``).

The baseline defaults to the registry's stable version; ``since`` to every row the monitor
keeps. The judge reads cumulative counts since ``since``: keep it fixed for one rollout.
Both routes take the API token; bad input is a 400 naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bot.core.errors import NotFoundError, ValidationError
from bot.core.secret import Secret
from bot.ingest.validate import parse_rfc3339
from bot.monitoring.service import ModelQualityService
from bot.registry.base import ModelRegistry, stable_version
from bot.rollout.arms import arm_of
from bot.rollout.judge import judge
from bot.rollout.observations import Judgement, JudgeSettings, Verdict
from bot.web.body import read_json
from bot.web.replies import authorized, error, unauthorized

NAME_MAX = 200
GATES = ("pass", "fail-only", "rollback")  # what a 200 means: see the module docstring


class JudgeRoutes:
    def __init__(
        self,
        models: ModelQualityService,
        registry: ModelRegistry,
        settings: JudgeSettings,
        *,
        api_token: Secret | None,
        max_body_bytes: int,
    ) -> None:
        self._models = models
        self._registry = registry
        self._settings = settings
        self._token = api_token
        self._max_body = max_body_bytes

    def install(self, app: web.Application) -> None:
        app.router.add_post("/api/v1/judge/flagger", self.flagger)
        app.router.add_get("/api/v1/judge/{model}", self.argo)

    async def argo(self, request: web.Request) -> web.Response:
        """``GET /api/v1/judge/{model}``: the judgement, always 200 (Argo reads it)."""
        if not authorized(request, self._token):
            return unauthorized()
        q = request.query
        try:
            found = await self._judge(
                request.match_info["model"], q.get("canary"), q.get("baseline"), q.get("since")
            )
        except ValidationError as exc:
            return error(400, "invalid", exc.field, exc.detail)
        except NotFoundError as exc:
            return error(404, "not_found", "model", exc.message)
        return web.json_response(found)

    async def flagger(self, request: web.Request) -> web.Response:
        """``POST /api/v1/judge/flagger``: 200 go, 412 halt (see the module docstring)."""
        body = await read_json(request, "webhook", max_body=self._max_body)
        if isinstance(body, web.Response):
            return body if authorized(request, self._token) else unauthorized()
        hook = body.value
        meta = hook.get("metadata") if isinstance(hook, dict) else None
        if not (authorized(request, self._token) or _token_in(meta, self._token)):
            return unauthorized()
        if not isinstance(hook, dict):
            return error(400, "invalid", "body", "must be Flagger's webhook object")
        meta = meta or {}
        if not isinstance(meta, dict):
            return error(400, "invalid", "metadata", "must be an object of strings")
        gate = meta.get("gate", "pass")
        if gate not in GATES:
            return error(400, "invalid", "metadata.gate", "must be pass, fail-only or rollback")
        try:
            found = await self._judge(
                _text(meta.get("model", hook.get("name")), "metadata.model"),
                meta.get("canary"),
                meta.get("baseline"),
                meta.get("since"),
                prefix="metadata.",
            )
        except ValidationError as exc:
            return error(400, "invalid", exc.field, exc.detail)
        except NotFoundError as exc:
            return error(404, "not_found", "metadata.model", exc.message)
        failed = found["verdict"] == Verdict.FAIL.value
        go = {"pass": found["pass"], "fail-only": not failed, "rollback": failed}[gate]
        return web.json_response(found, status=200 if go else 412)

    async def _judge(
        self,
        model: object,
        canary: object,
        baseline: object,
        since: object,
        *,
        prefix: str = "",
    ) -> dict[str, Any]:
        name = _text(model, f"{prefix}model")
        new = _text(canary, f"{prefix}canary")
        old = (
            _text(baseline, f"{prefix}baseline")
            if baseline is not None
            else await stable_version(self._registry, name)
        )
        if old is None:
            raise ValidationError(
                f"{prefix}baseline", f"{name} has no stable version; name the baseline"
            )
        start: datetime | None = (
            parse_rfc3339(since, f"{prefix}since") if since is not None else None
        )
        summaries = await self._models.summaries(name, since=start)
        result = judge(
            arm_of(old, summaries.get(old)),
            arm_of(new, summaries.get(new)),
            self._settings,
        )
        return reply(name, old, new, result)


def _token_in(meta: object, token: Secret | None) -> bool:
    """The API token in Flagger's ``metadata.token`` (Flagger sends no headers)."""
    candidate = meta.get("token") if isinstance(meta, dict) else None
    return token is not None and isinstance(candidate, str) and token.matches(candidate)


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "is required: a model or version name")
    if len(value) > NAME_MAX:
        raise ValidationError(field, f"is at most {NAME_MAX} characters")
    return value.strip()


def reply(model: str, baseline: str, canary: str, j: Judgement) -> dict[str, Any]:
    """The judgement as JSON, the same for Argo and Flagger."""
    return {
        "model": model,
        "baseline": baseline,
        "canary": canary,
        "verdict": j.verdict.value,
        "pass": j.verdict is Verdict.PASS,
        "score": j.score,
        "summary": j.summary,
        "metrics": [
            {
                "metric": m.metric,
                "verdict": m.verdict.value,
                "reason": m.reason,
                "stable": m.stable,
                "canary": m.canary,
                "p_value": m.p_value,
            }
            for m in j.metrics
        ],
    }
