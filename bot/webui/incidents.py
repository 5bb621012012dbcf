"""``/incidents`` and ``/incidents/{id}``: the incident table and one incident's page.

The table reads one page in a fixed number of queries (``bot.webui.queries``) and answers
``?partial=1`` with the table alone, which the page's few lines of script fetch every 15 s;
without script the page is whole and a reload does the same. A bad filter is the page again
with a 400 and the message beside its field. An incident's charts are served only when its
own evidence entries name them, from ``evidence_dir`` alone.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from aiohttp import web

from bot.incidents.severity import SEVERITIES
from bot.store.db import Database
from bot.web.replies import whole
from bot.webui import detail, filters, queries
from bot.webui.pages import Pages, protect

_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_CHART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.png")


class IncidentPages:
    """The incident pages, on the database's read sessions."""

    def __init__(
        self,
        pages: Pages,
        db: Database,
        *,
        group_by: Sequence[str],
        evidence_dir: Path,
        postmortem_path: Callable[[int], Path],
    ) -> None:
        self._pages = pages
        self._db = db
        self._group_by = tuple(group_by)
        self._evidence_dir = evidence_dir
        self._postmortem_path = postmortem_path

    def install(self, app: web.Application) -> None:
        guard = self._pages.guard
        app.router.add_get("/incidents", guard(self.table))
        app.router.add_get("/incidents/{id}", guard(self.incident))
        app.router.add_get("/incidents/{id}/evidence/{name}", guard(self.evidence))

    async def table(self, request: web.Request) -> web.Response:
        now = self._pages.clock()
        wanted, window, errors = filters.parse(filters.Query(request.query.items()), now)
        partial = request.query.get("partial") == "1"
        if errors:
            return self._pages.render(
                request,
                "incidents.html.j2",
                status=400,
                filters=wanted,
                errors=errors,
                listing=None,
                now=now,
                severities=SEVERITIES,
                states=filters.STATES,
            )
        async with self._db.read() as s, s.begin():
            listing = await queries.incident_page(s, wanted, window, group_by=self._group_by)
        return self._pages.render(
            request,
            "incidents_table.html.j2" if partial else "incidents.html.j2",
            filters=wanted,
            errors={},
            listing=listing,
            now=now,
            severities=SEVERITIES,
            states=filters.STATES,
        )

    async def incident(self, request: web.Request) -> web.Response:
        incident_id = _incident_id(request)
        if incident_id is None:
            return self._not_found(request)
        kinds = request.query.getall("kind", [])
        if any(not _KIND.fullmatch(k) for k in kinds):
            return self._pages.problem(
                request, 400, "Not a kind of entry", "kind: a timeline kind such as alert or page"
            )
        async with self._db.read() as s, s.begin():
            found = await detail.read_detail(s, incident_id, sorted(set(kinds)))
        if found is None:
            return self._not_found(request)
        postmortem = None
        if found.has_postmortem:
            postmortem = await asyncio.to_thread(_read_text, self._postmortem_path(incident_id))
        return self._pages.render(
            request,
            "incident.html.j2",
            d=found,
            i=found.incident,
            chosen=set(kinds),
            postmortem=postmortem,
            now=self._pages.clock(),
        )

    async def evidence(self, request: web.Request) -> web.StreamResponse:
        """A chart of this incident's evidence, by its file name; nothing else."""
        incident_id = _incident_id(request)
        name = request.match_info["name"]
        if incident_id is None or not _CHART.fullmatch(name) or ".." in name:
            return self._not_found(request)
        async with self._db.read() as s, s.begin():
            names = await detail.evidence_of(s, incident_id)
        root = self._evidence_dir.resolve()
        path = (root / name).resolve()
        if name not in names or path.parent != root:
            return self._not_found(request)
        data = await asyncio.to_thread(_read_bytes, path)
        if data is None:
            return self._not_found(request)
        response = web.Response(body=data, content_type="image/png")
        protect(response)
        response.headers["Cache-Control"] = "private, max-age=300"
        return response

    def _not_found(self, request: web.Request) -> web.Response:
        return self._pages.problem(
            request, 404, "No such incident", "There is no incident or chart at this address."
        )


def _incident_id(request: web.Request) -> int | None:
    raw = request.match_info["id"].lstrip("#")
    return int(raw) if whole(raw, 18) and int(raw) > 0 else None


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
