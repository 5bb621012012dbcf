"""Reading a JSON request body, with the refusals every JSON route shares.

A body over the size limit is a 413 that says to send fewer items per post; text that is not
JSON, or holds a value no database can keep (``bot.ingest.json_body``), is a 400 naming the
field. Every JSON route of :mod:`bot.web.app` and :mod:`bot.web.models` reads through here.
A predictions post may instead be an Arrow IPC stream (``bot.quality.arrow_body``), bounded
alike; a column of the wrong type is a 400 naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.core.errors import ValidationError
from bot.ingest.json_body import decode_json
from bot.quality.arrow_body import ARROW_STREAM, ArrowBodyError, parse
from bot.web.replies import error


@dataclass(frozen=True, slots=True)
class Body:
    """A decoded JSON body (any JSON value, ``null`` included)."""

    value: Any


async def _read(request: web.Request, what: str, max_body: int) -> bytes | web.Response:
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        return error(
            413,
            "too_large",
            "body",
            f"the body is larger than {max_body} bytes; send fewer {what} per post",
        )


async def read_json(
    request: web.Request, what: str, *, max_body: int, empty: Any = None
) -> Body | web.Response:
    """The decoded JSON body, or the error response (413 too large, 400 not JSON).

    With ``empty`` set, an empty body reads as that value instead of being refused."""
    raw = await _read(request, what, max_body)
    if isinstance(raw, web.Response):
        return raw
    if empty is not None and not raw.strip():
        return Body(empty)
    try:
        return Body(decode_json(raw))
    except ValidationError as exc:
        return error(400, "invalid", exc.field, exc.detail)
    except (ValueError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        return error(400, "invalid_json", "body", f"the body is not valid JSON ({why})")


async def read_rows(request: web.Request, what: str, *, max_body: int) -> Body | web.Response:
    """A post of rows: JSON, or an Arrow IPC stream read as ``{"rows": [...]}``."""
    if request.content_type != ARROW_STREAM:
        return await read_json(request, what, max_body=max_body)
    raw = await _read(request, what, max_body)
    if isinstance(raw, web.Response):
        return raw
    try:
        return Body({"rows": parse(raw)})
    except ArrowBodyError as exc:
        code = "invalid_arrow" if exc.field == "body" else "invalid"
        return error(400, code, exc.field, exc.message)
