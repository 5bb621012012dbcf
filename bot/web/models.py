"""The model-quality routes: predictions and labels posted in, the quality figures read out.

``POST /api/v1/models/{model}/predictions`` and ``…/labels`` (the ingest token) feed the
monitor; ``GET /api/v1/models/{model}/quality`` (the API token) reads drift, data quality
and the label-free accuracy estimate, every version together with a line per version, or
one version's (``?version=V``). A post with ``"shadow": true`` is a shadow version's
outputs, paired by id with the live ones and never counted in the live figures; ``GET
/api/v1/models/{model}/shadow?version=V`` (the API token) reads that comparison and its
verdict. A predictions post may be an Arrow IPC stream instead of JSON
(``Content-Type: application/vnd.apache.arrow.stream``, ``bot.quality.arrow_rows``).
Installed only when the monitor is configured.
"""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.core.errors import NotFoundError, StorageError, ValidationError
from bot.core.secret import Secret
from bot.monitoring.replies import labels_reply, predictions_reply
from bot.monitoring.service import ModelQualityService
from bot.monitoring.shadow_views import shadow_post_json
from bot.monitoring.versions import UnknownVersion, check_version
from bot.web.body import read_json, read_rows
from bot.web.replies import authorized, error, not_stored, unauthorized

log = logging.getLogger(__name__)


class ModelRoutes:
    """The model-quality handlers, bound to the monitor the composition root built."""

    def __init__(
        self,
        models: ModelQualityService,
        *,
        ingest_token: Secret | None,
        api_token: Secret | None,
        max_body_bytes: int,
    ) -> None:
        self._models = models
        self._ingest_token = ingest_token
        self._api_token = api_token
        self._max_body = max_body_bytes

    def install(self, app: web.Application) -> None:
        app.router.add_post("/api/v1/models/{model}/predictions", self.model_predictions)
        app.router.add_post("/api/v1/models/{model}/labels", self.model_labels)
        app.router.add_get("/api/v1/models/{model}/quality", self.model_quality)
        app.router.add_get("/api/v1/models/{model}/shadow", self.model_shadow)

    async def model_predictions(self, request: web.Request) -> web.Response:
        """``POST /api/v1/models/{model}/predictions``: count a batch of scored rows.

        200 even when some rows were bad: the good rows were counted and the reply lists the
        bad ones by field. 400 only when the post itself is malformed (nothing counted)."""
        return await self._model_post(request, "predictions")

    async def model_labels(self, request: web.Request) -> web.Response:
        """``POST /api/v1/models/{model}/labels``: true classes, joined to predictions by id."""
        return await self._model_post(request, "labels")

    async def _model_post(self, request: web.Request, what: str) -> web.Response:
        if not authorized(request, self._ingest_token):
            return unauthorized()
        model = request.match_info["model"]
        if len(model) > 200:
            return error(400, "invalid", "model", "a model name is at most 200 characters")
        if what == "predictions":
            body = await read_rows(request, what, max_body=self._max_body)
        else:
            body = await read_json(request, what, max_body=self._max_body)
        if isinstance(body, web.Response):
            return body
        try:
            if what == "predictions":
                check = await self._models.predictions(model, body.value)
                if isinstance(check, tuple):  # a shadow post: paired, not counted
                    return web.json_response(shadow_post_json(model, *check))
                return web.json_response(predictions_reply(model, check))
            result = await self._models.labels(model, body.value)
            return web.json_response(labels_reply(model, result))
        except NotFoundError as exc:
            return error(404, "not_found", "model", exc.message)
        except ValidationError as exc:
            return error(400, "invalid", exc.field, exc.detail)
        except (StorageError, SQLAlchemyError, OSError) as exc:
            log.exception("could not count the %s of %s", what, model)
            return not_stored(exc, f"could not store the {what}; none were counted, retry")

    async def model_quality(self, request: web.Request) -> web.Response:
        """``GET /api/v1/models/{model}/quality[?version=V]``: drift, data quality, and the
        label-free accuracy estimate with its interval next to the realized accuracy; of
        every version together (with a line per version), or of version ``V`` alone."""
        if not authorized(request, self._api_token):
            return unauthorized()
        raw = request.query.get("version")
        try:
            version = None if raw is None else check_version(raw, "version")
            answer = await self._models.quality(request.match_info["model"], version)
        except ValidationError as exc:
            return error(400, "invalid", exc.field, exc.detail)
        except UnknownVersion as exc:
            return error(404, "not_found", "version", exc.message)
        except NotFoundError as exc:
            return error(404, "not_found", "model", exc.message)
        return web.json_response(answer)

    async def model_shadow(self, request: web.Request) -> web.Response:
        """``GET /api/v1/models/{model}/shadow?version=V``: shadow ``V`` beside what served
        (agreement, score distance, latency, accuracy on labelled pairs, the segments where
        they differ most) and a verdict: ready to canary, not yet, or disagrees (why)."""
        if not authorized(request, self._api_token):
            return unauthorized()
        raw = request.query.get("version")
        try:
            if raw is None:
                raise ValidationError("version", "is required (the shadow version to compare)")
            version = check_version(raw, "version")
            answer = await self._models.shadow(request.match_info["model"], version)
        except ValidationError as exc:
            return error(400, "invalid", exc.field, exc.detail)
        except UnknownVersion as exc:
            return error(404, "not_found", "version", exc.message)
        except NotFoundError as exc:
            return error(404, "not_found", "model", exc.message)
        return web.json_response(answer)
