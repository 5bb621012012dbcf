"""Every schedule route: ``GET /api/v1/schedules/{name}.ics`` (the shifts as a calendar
feed), ``POST`` and ``GET /api/v1/schedules/{name}/overrides`` (imported overrides) and
``DELETE …/overrides/{uid}``.

Apart from :mod:`bot.web.app`, which stays about alerts and incidents; the answers use the
one error shape, API-token check and 503 retry answer of :mod:`bot.web.replies`. The body of
an override post is the calendar itself. Its Content-Type is not checked: ``curl
--data-binary @swaps.ics`` sends a form type unless told otherwise, and the parser says
plainly when the bytes are not a calendar.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.core.clock import Clock
from bot.core.errors import NotFoundError, StorageError, ValidationError
from bot.core.pagination import decode_cursor, encode_cursor, page_json, page_of, parse_limit
from bot.core.secret import Secret
from bot.core.timefmt import iso_z
from bot.ingest.json_body import check_text
from bot.oncall.schedules.ical import export_ics
from bot.oncall.schedules.override_plan import StoredOverride, import_json, override_json
from bot.oncall.schedules.overrides import ScheduleBook
from bot.web.replies import authorized, error, not_stored, unauthorized, unavailable, whole

log = logging.getLogger(__name__)
PATH = "/api/v1/schedules/{name}/overrides"
MAX_SOURCE = 200


class ScheduleRoutes:
    """The override routes, bound to the schedule book the composition root built."""

    def __init__(
        self,
        book: ScheduleBook,
        *,
        api_token: Secret | None,
        max_body_bytes: int,
        clock: Clock,
    ):
        self._book = book
        self._token = api_token
        self._max_body = max_body_bytes
        self._clock = clock

    def install(self, app: web.Application) -> None:
        app.router.add_get("/api/v1/schedules/{name}.ics", self.schedule_ics)
        app.router.add_post(PATH, self.import_overrides)
        app.router.add_get(PATH, self.list_overrides)
        app.router.add_delete(PATH + "/{uid}", self.remove_override)

    async def schedule_ics(self, request: web.Request) -> web.Response:
        """``GET /api/v1/schedules/{name}.ics[?days=56]``: the schedule's final shifts as an
        iCalendar feed (overrides applied), from a week back to ``days`` ahead, for people's
        own calendars. Each shift keeps its UID, so a subscribed calendar updates in place."""
        if not authorized(request, self._token):
            return unauthorized()
        name = request.match_info["name"]
        missing = self._unknown(name)
        if missing is not None:
            return missing
        raw_days = request.query.get("days", "56")
        if not whole(raw_days, 3) or not 1 <= int(raw_days) <= 366:
            return error(400, "invalid", "days", "must be a whole number of days from 1 to 366")
        try:
            schedule = await self._book.get(name)
        except StorageError:
            log.exception("could not read the imported overrides of %s", name)
            return unavailable("could not read the schedule's imported overrides, retry")
        now = self._clock()
        body = export_ics(
            schedule, now - timedelta(days=7), now + timedelta(days=int(raw_days)), now=now
        )
        return web.Response(
            body=body,
            headers={
                "Content-Type": "text/calendar; charset=utf-8",
                "Content-Disposition": f'inline; filename="{name}.ics"',
            },
        )

    async def import_overrides(self, request: web.Request) -> web.Response:
        """``POST …/overrides[?source=swaps.ics&replace=true]`` with an iCalendar body: each
        event becomes an override of the schedule, stored before the 200, which counts what
        was added, updated, left unchanged, removed, kept and skipped (see override_plan)."""
        if not authorized(request, self._token):
            return unauthorized()
        name = request.match_info["name"]
        if (missing := self._unknown(name)) is not None:
            return missing
        source = request.query.get("source", "api").strip()
        if not source or len(source) > MAX_SOURCE:
            return error(400, "invalid", "source", f"1 to {MAX_SOURCE} characters, e.g. swaps.ics")
        try:
            check_text(source, "source")
        except ValidationError as exc:
            return error(400, "invalid", exc.field, exc.detail)
        flag = request.query.get("replace", "false").lower()
        if flag not in ("true", "false", "1", "0"):
            return error(400, "invalid", "replace", "must be true or false")
        try:
            data = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return error(
                413,
                "too_large",
                "body",
                f"the calendar is larger than {self._max_body} bytes; import it in parts",
            )
        try:
            result = await self._book.import_ics(
                name, data, actor="api", source=source, replace=flag in ("true", "1")
            )
        except ValidationError as exc:
            return error(400, "invalid", exc.field, exc.detail)
        except (StorageError, SQLAlchemyError, OSError) as exc:
            log.exception("could not import overrides of %s", name)
            return not_stored(exc, "could not store the overrides; nothing was changed, retry")
        return web.json_response(import_json(result))

    async def list_overrides(self, request: web.Request) -> web.Response:
        """``GET …/overrides[?limit=50&cursor=…]``: the imported overrides in effect or to
        come, by start, a page at a time like every list (``next_cursor``, ``total``)."""
        if not authorized(request, self._token):
            return unauthorized()
        name = request.match_info["name"]
        if (missing := self._unknown(name)) is not None:
            return missing
        try:
            limit = parse_limit(request.query.get("limit"))
            raw = request.query.get("cursor")
            after = None if raw is None else _after(name, raw)
        except ValidationError as exc:
            return error(400, "invalid", exc.field, exc.detail)
        try:
            rows = await self._book.list(name)
        except (StorageError, SQLAlchemyError, OSError):
            log.exception("could not read the overrides of %s", name)
            return unavailable("could not read the overrides, retry")
        page = page_of(rows, key=_key, after=after, limit=limit, cursor=lambda r: _cursor(name, r))
        body = {"schedule": name, "overrides": [override_json(r) for r in page.items]}
        return web.json_response({**body, **page_json(page)})

    async def remove_override(self, request: web.Request) -> web.Response:
        """``DELETE …/overrides/{uid}``: the swap fell through; whoever the layers say is on
        call again. 404 naming the UID (and where to find the right one) when there is none."""
        if not authorized(request, self._token):
            return unauthorized()
        name, uid = request.match_info["name"], request.match_info["uid"]
        if (missing := self._unknown(name)) is not None:
            return missing
        try:
            check_text(uid, "uid")  # no stored UID holds one: the import refuses them
        except ValidationError as exc:
            return error(400, "invalid", exc.field, exc.detail)
        try:
            removed = await self._book.remove(name, uid)
        except NotFoundError as exc:
            return error(404, "not_found", "uid", str(exc))
        except (StorageError, SQLAlchemyError, OSError) as exc:
            log.exception("could not remove override %s of %s", uid, name)
            return not_stored(exc, "could not remove the override; nothing was changed, retry")
        return web.json_response({"schedule": name, "removed": override_json(removed)})

    def _unknown(self, name: str) -> web.Response | None:
        """The 404 naming the schedule and the known ones, or None when it exists."""
        if name in self._book.configured:
            return None
        known = ", ".join(sorted(self._book.configured)) or "none are configured (schedules:)"
        return error(404, "not_found", "name", f"no schedule named {name!r}; schedules: {known}")


# The overrides of one schedule are few (those in effect or to come) and read whole, so
# their pages are cut in memory; the cursor is still a keyset (start, end, UID), so an
# import between two pages neither repeats an override nor skips one.
def _key(row: StoredOverride) -> tuple[datetime, datetime, str]:
    return (row.start, row.end, row.uid)


def _cursor(name: str, row: StoredOverride) -> str:
    return encode_cursor(f"overrides:{name}", [iso_z(row.start), iso_z(row.end), row.uid])


def _after(name: str, raw: str) -> tuple[datetime, datetime, str]:
    start, end, uid = decode_cursor(f"overrides:{name}", raw, (str, str, str))
    try:
        return (_utc(str(start)), _utc(str(end)), str(uid))
    except ValueError:
        raise ValidationError("cursor", "is not a cursor Vigil handed out") from None


def _utc(text: str) -> datetime:
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if at.tzinfo is None:
        raise ValueError(text)
    return at
