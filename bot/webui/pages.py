"""What every page of the web view shares: the templates, the session check, the headers.

One Jinja2 environment with autoescape on (every value a page shows is escaped; the one
exception is ``Markup`` built by ``bot.webui.text`` from escaped parts) reading the templates
inside the package. Every response carries a Content-Security-Policy whose script nonce is
new per response, so only the page's own few lines of script run, and headers that keep it
out of frames and other sites' referrers. A page asked for without a session is a 303 to
the login form; with no API token configured the pages are open, as the API is.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.core.clock import Clock
from bot.core.secret import Secret
from bot.webui import session, text
from bot.webui.session import COOKIE

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
NAV = (
    ("Incidents", "/incidents"),
    ("On call", "/oncall"),
    ("Models", "/models"),
    ("Silences", "/silences"),
    ("Status", "/status"),
)
_CSS = files("bot.webui").joinpath("static/vigil.css").read_bytes()


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bot.webui", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(nav=NAV, age=text.age, subject=text.subject, slack_link=text.slack_link)
    env.filters["markdown"] = text.markdown
    env.filters["when"] = lambda t: t.strftime("%Y-%m-%d %H:%M:%S UTC") if t else "—"
    return env


class Pages:
    """Renders pages and guards them; built once per app by the composition root."""

    def __init__(self, api_token: Secret | None, clock: Clock) -> None:
        self.open = api_token is None
        # Without a token the forms are still bound to this process's own key, so another
        # site's page cannot post them (it cannot read the hidden field).
        self.key = (
            api_token.reveal().encode("utf-8", "surrogatepass")
            if api_token is not None
            else secrets.token_bytes(32)
        )
        self.token = api_token
        self.clock = clock
        self.env = _environment()

    def session(self, request: web.Request) -> str | None:
        """The request's valid session value ("" in open mode), or None."""
        if self.open:
            return ""
        value = request.cookies.get(COOKIE)
        now = self.clock().timestamp()
        return value if value and session.valid_session(self.key, value, now) else None

    def guard(self, handler: Handler) -> Handler:
        """``handler`` for signed-in requests; the others go to the login form and back."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            if self.session(request) is None:
                return see_other(login_url(request.path_qs))
            return await handler(request)

        return guarded

    def csrf_ok(self, request: web.Request, given: object) -> bool:
        """Does a form's ``csrf`` field belong to this request's session?"""
        current = self.session(request)
        return current is not None and session.csrf_ok(
            self.key, current, given if isinstance(given, str) else None
        )

    def render(
        self, request: web.Request, template: str, *, status: int = 200, **context: Any
    ) -> web.Response:
        """The template as a page, with the headers every page carries."""
        nonce = secrets.token_urlsafe(16)
        current = self.session(request)
        body = self.env.get_template(template).render(
            nonce=nonce,
            signed_in=current is not None and not self.open,
            csrf=session.csrf_token(self.key, current or ""),
            path=request.path,
            **context,
        )
        response = web.Response(text=body, status=status, content_type="text/html")
        protect(response, nonce)
        return response

    def problem(self, request: web.Request, status: int, title: str, message: str) -> web.Response:
        return self.render(request, "problem.html.j2", status=status, title=title, message=message)


def login_url(target: str) -> str:
    return "/login?" + urlencode({"next": target})


def see_other(location: str, **headers: str) -> web.Response:
    """A 303 to ``location`` (a path of this site)."""
    response = web.Response(status=303, headers={"Location": location, **headers})
    protect(response)
    return response


def protect(response: web.StreamResponse, nonce: str | None = None) -> None:
    """The security headers of every web view response."""
    scripts = f"'nonce-{nonce}'" if nonce else "'none'"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src {scripts}; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cache-Control", "no-store")


async def stylesheet(request: web.Request) -> web.Response:
    """``/static/vigil.css``: the one stylesheet, from the package."""
    response = web.Response(body=_CSS, content_type="text/css", charset="utf-8")
    response.headers["Cache-Control"] = "public, max-age=3600"
    protect(response)
    return response
