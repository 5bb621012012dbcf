"""The canary judge over HTTP, for teams already on Flagger or Argo Rollouts.

- ``GET /api/v1/judge/{model}?canary=V[&baseline=W][&since=RFC3339]``: Argo Rollouts' web
  metric provider. Always 200 with the judgement: ``{"verdict": "pass"|"marginal"|"fail"|
  "inconclusive", "pass": bool, "score", "summary", "metrics": [...]}``; point the metric's
  ``jsonPath: "{$.verdict}"`` at it with ``successCondition: result == "pass"`` and
  ``failureCondition: result == "fail"`` (anything else is Argo's inconclusive).
- ``POST /api/v1/judge/flagger``: Flagger's webhook body (``name``, ``namespace``,
  ``phase``, ``metadata``); ``metadata.model`` (default ``name``), ``metadata.canary``
  (required), ``metadata.baseline``, ``metadata.since``. 200 = go, 412 = halt, with the
  judgement in the body. As a ``confirm-rollout``/``confirm-promotion`` gate only PASS is
  200 (Flagger waits while the judge is not sure); with ``metadata.gate: fail-only`` (for a
  ``rollout`` check, whose non-2xx counts toward the failure threshold) everything but
  FAIL is 200, so "no values yet" at low traffic never fails a canary.

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
        if not authorized(request, self._token):
            return unauthorized()
        body = await read_json(request, "webhook", max_body=self._max_body)
        if isinstance(body, web.Response):
            return body
        hook = body.value
        if not isinstance(hook, dict):
            return error(400, "invalid", "body", "must be Flagger's webhook object")
        meta = hook.get("metadata") or {}
        if not isinstance(meta, dict):
            return error(400, "invalid", "metadata", "must be an object of strings")
        gate = meta.get("gate", "pass")
        if gate not in ("pass", "fail-only"):
            return error(400, "invalid", "metadata.gate", "must be pass or fail-only")
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
        go = found["pass"] if gate == "pass" else found["verdict"] != Verdict.FAIL.value
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
