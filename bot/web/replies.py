"""The answers every HTTP route shares: the one JSON error shape, the bearer-token check,
and what a storage failure is (503, retry) or is not (a value the database refused: 400).

Every error is a JSON body ``{"error": code, "field": path, "message": text}``.
"""

from __future__ import annotations

from aiohttp import web

from bot.core.errors import refused_value
from bot.core.secret import Secret


def error(status: int, code: str, field: str, message: str, **headers: str) -> web.Response:
    """The one error shape every route uses."""
    return web.json_response(
        {"error": code, "field": field, "message": message}, status=status, headers=headers
    )


def authorized(request: web.Request, token: Secret | None) -> bool:
    if token is None:
        return True
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and token.matches(value.strip())


def unavailable(message: str) -> web.Response:
    """Our failure (storage down): nothing was kept, and the caller should retry."""
    return error(503, "unavailable", "", message, **{"Retry-After": "5"})


def not_stored(exc: BaseException, message: str) -> web.Response:
    """The answer when the database failed: 503 and retry when it may work next time, but
    400 when it refused a value of the post (a data error is the same on every retry, and
    a 503 would make Alertmanager retry it for ever)."""
    why = refused_value(exc)
    if why is not None:
        return error(
            400,
            "invalid",
            "body",
            f"the database refused a value of this post ({why}); nothing was stored, and "
            "sending it again will not help: fix the value",
        )
    return unavailable(message)


def whole(text: str, most_digits: int) -> bool:
    """Is ``text`` a whole number of at most ``most_digits`` ASCII digits? (``str.isdigit``
    alone says yes to "²", which ``int`` refuses, and ``int`` refuses 5,000 digits.)"""
    return text.isascii() and text.isdigit() and len(text) <= most_digits


def unauthorized() -> web.Response:
    return error(
        401,
        "unauthorized",
        "Authorization",
        "send the token as 'Authorization: Bearer <token>'",
        **{"WWW-Authenticate": 'Bearer realm="vigil"'},
    )
