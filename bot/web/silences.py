"""Alertmanager's API v2 for silences and alerts, served by Vigil, so ``amtool`` and every
client of Alertmanager's API work against Vigil unchanged:

* ``GET /api/v2/silences[?filter=…]``, ``POST /api/v2/silences`` (``{"silenceID": …}``),
  ``GET``/``DELETE /api/v2/silence/{id}``: Alertmanager's JSON, plus ``vigil``'s options;
* ``GET /api/v2/alerts[?filter=…&silenced=&inhibited=&active=]``: the firing alerts, with
  ``status.silencedBy``/``inhibitedBy`` (a muted alert is ``suppressed``), which is also the
  preview of a silence: the alerts a filter matches are those it would silence.

Vigil's refusals keep Alertmanager's status codes (400 for a bad silence, 404 for an unknown
id) and Alertmanager's error body, a JSON *string*, which starts with the field it names
(``"matchers: … would hush every alert …"``): Alertmanager's clients read a 400 as a string,
so Vigil's usual error object would reach an ``amtool`` user as "cannot unmarshal object"
instead of the reason. Every route takes the API token (``amtool --http.config.file`` with
``authorization: {credentials: …}``; a 401 keeps Vigil's usual body, which amtool does not
read). ``amtool`` also asks ``GET /api/v2/status`` first; Vigil has no Alertmanager status to
give, and amtool goes on quietly on a 404 (an answer with Vigil's version would make it warn
"versions are different" on every command).
"""

from __future__ import annotations

import logging
from datetime import datetime

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.core.clock import Clock
from bot.core.errors import NotFoundError, StorageError, ValidationError
from bot.core.secret import Secret
from bot.core.timefmt import iso_z
from bot.silences.matchers import Matcher, MatcherError, matches_filter, parse_matcher
from bot.silences.mutes import inhibited_by, silenced_by
from bot.silences.service import SilenceService
from bot.silences.spec import SilenceView, gettable, parse_postable
from bot.store.tables import Alert
from bot.web.body import read_json
from bot.web.replies import authorized, not_stored, unauthorized

log = logging.getLogger(__name__)


def refused(status: int, field: str, message: str) -> web.Response:
    """Alertmanager's error body: one JSON string, here ``"field: reason"``."""
    text = message if message.startswith(field) else f"{field}: {message}"
    return web.json_response(text, status=status)


def _filters(request: web.Request) -> list[Matcher] | web.Response:
    out: list[Matcher] = []
    for i, text in enumerate(request.query.getall("filter", [])):
        try:
            out.append(parse_matcher(text))
        except MatcherError as exc:
            return refused(400, f"filter[{i}]", str(exc))
    return out


def _flag(request: web.Request, name: str) -> bool | web.Response:
    raw = request.query.get(name, "true").lower()
    if raw not in ("true", "false"):
        return refused(400, name, "true or false")
    return raw == "true"


class SilenceRoutes:
    """The routes above, on the silence service."""

    def __init__(
        self,
        silences: SilenceService,
        *,
        api_token: Secret | None,
        clock: Clock,
        max_body_bytes: int,
    ) -> None:
        self._silences = silences
        self._token = api_token
        self._clock = clock
        self._max_body = max_body_bytes

    def install(self, app: web.Application) -> None:
        app.router.add_get("/api/v2/silences", self.list_silences)
        app.router.add_post("/api/v2/silences", self.post_silence)
        app.router.add_get("/api/v2/silence/{id}", self.get_silence)
        app.router.add_delete("/api/v2/silence/{id}", self.delete_silence)
        app.router.add_get("/api/v2/alerts", self.list_alerts)

    async def list_silences(self, request: web.Request) -> web.Response:
        if not authorized(request, self._token):
            return unauthorized()
        filters = _filters(request)
        if isinstance(filters, web.Response):
            return filters
        now = self._clock()
        views = [
            v
            for v in await self._silences.listed()
            if matches_filter(filters, {m.name: m.value for m in v.matchers})
        ]
        views.sort(key=lambda v: _sort_key(v, now))
        return web.json_response([gettable(v, now) for v in views])

    async def post_silence(self, request: web.Request) -> web.Response:
        if not authorized(request, self._token):
            return unauthorized()
        body = await read_json(request, max_body=self._max_body, what="silence")
        if isinstance(body, web.Response):
            return body
        try:
            sid, spec = parse_postable(body.value, now=self._clock())
            view = await self._silences.create(spec, sid=sid)
        except ValidationError as exc:
            return refused(400, exc.field, exc.detail)
        except NotFoundError as exc:
            return refused(404, "id", exc.message)
        except (StorageError, SQLAlchemyError, OSError) as exc:
            log.exception("could not store a silence")
            return not_stored(exc, "could not store the silence; nothing was kept, retry")
        log.info("silence %s created by %s", view.id, view.created_by)
        return web.json_response({"silenceID": view.id})

    async def get_silence(self, request: web.Request) -> web.Response:
        if not authorized(request, self._token):
            return unauthorized()
        try:
            view = await self._silences.get(request.match_info["id"])
        except (NotFoundError, ValidationError) as exc:
            return refused(404, "id", exc.message)
        return web.json_response(gettable(view, self._clock()))

    async def delete_silence(self, request: web.Request) -> web.Response:
        if not authorized(request, self._token):
            return unauthorized()
        actor = request.headers.get("X-Vigil-Actor", "api")[:200]
        try:
            await self._silences.expire(request.match_info["id"], actor)
        except (NotFoundError, ValidationError) as exc:
            return refused(404, "id", exc.message)
        except (StorageError, SQLAlchemyError, OSError) as exc:
            log.exception("could not expire a silence")
            return not_stored(exc, "could not expire the silence; nothing changed, retry")
        return web.json_response({})

    async def list_alerts(self, request: web.Request) -> web.Response:
        if not authorized(request, self._token):
            return unauthorized()
        filters = _filters(request)
        if isinstance(filters, web.Response):
            return filters
        flags = {n: _flag(request, n) for n in ("silenced", "inhibited", "active")}
        for value in flags.values():
            if isinstance(value, web.Response):
                return value
        out = []
        for alert in await self._silences.firing():
            if not matches_filter(filters, alert.labels):
                continue
            silenced, inhibited = silenced_by(alert.muted_by), inhibited_by(alert.muted_by)
            if (silenced and not flags["silenced"]) or (inhibited and not flags["inhibited"]):
                continue
            if not silenced and not inhibited and not flags["active"]:
                continue
            out.append(alert_json(alert))
        return web.json_response(out)


def alert_json(alert: Alert) -> dict[str, object]:
    """Alertmanager's ``GettableAlert``, plus the incident the alert belongs to."""
    silenced, inhibited = silenced_by(alert.muted_by), inhibited_by(alert.muted_by)
    return {
        "labels": alert.labels,
        "annotations": alert.annotations,
        "startsAt": iso_z(alert.starts_at),
        "endsAt": iso_z(alert.ends_at) or "0001-01-01T00:00:00Z",
        "updatedAt": iso_z(alert.last_seen),
        "generatorURL": alert.generator_url or "",
        "fingerprint": alert.fingerprint,
        "receivers": [{"name": "vigil"}],
        "status": {
            "state": "suppressed" if silenced or inhibited else "active",
            "silencedBy": silenced,
            "inhibitedBy": inhibited,
            "mutedBy": [],
        },
        "vigil": {"incident": alert.incident_id, "count": alert.count},
    }


def _sort_key(view: SilenceView, now: datetime) -> tuple[int, float]:
    """Alertmanager's order: active by end, then pending by start, then expired, newest
    first."""
    state = view.state(now)
    if state == "pending":
        return (1, view.starts_at.timestamp())
    if state == "expired":
        return (2, -view.ends_at.timestamp())
    return (0, view.ends_at.timestamp())
