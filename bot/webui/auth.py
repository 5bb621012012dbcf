"""Signing in to the web view with the API token, and out again.

``POST /login`` checks the token in constant time and sets the session cookie (HttpOnly:
no script reads it; SameSite=Strict: no other site's link or form carries it; Secure over
https) then sends the person where they were going, a path of this site only. A wrong
token is the form again with a 401, saying so. ``POST /logout`` is a changing form like any
other: it needs its CSRF field.
"""

from __future__ import annotations

from aiohttp import web

from bot.webui import session
from bot.webui.pages import Pages, see_other
from bot.webui.session import COOKIE, LIFETIME_S


class LoginRoutes:
    """``/login`` and ``/logout``."""

    def __init__(self, pages: Pages) -> None:
        self._pages = pages

    def install(self, app: web.Application) -> None:
        app.router.add_get("/login", self.form)
        app.router.add_post("/login", self.login)
        app.router.add_post("/logout", self.logout)

    async def form(self, request: web.Request) -> web.Response:
        target = session.local_path(request.query.get("next"))
        if self._pages.session(request) is not None:
            return see_other(target)  # signed in already, or open: nothing to ask
        return self._login_page(request, target)

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        target = session.local_path(_text(form.get("next")))
        if self._pages.token is None:
            return see_other(target)
        if not self._pages.token.matches(_text(form.get("token"))):
            return self._login_page(request, target, wrong=True)
        value = session.new_session(self._pages.key, self._pages.clock().timestamp())
        response = see_other(target)
        response.set_cookie(
            COOKIE,
            value,
            max_age=LIFETIME_S,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=request.secure,
        )
        return response

    async def logout(self, request: web.Request) -> web.Response:
        form = await request.post()
        if not self._pages.csrf_ok(request, form.get("csrf")):
            return self._pages.problem(
                request,
                403,
                "Not signed out",
                "This form is out of date or came from another site. "
                "Reload the page and try again.",
            )
        response = see_other("/login")
        response.del_cookie(COOKIE, path="/", httponly=True, samesite="Strict")
        return response

    def _login_page(
        self, request: web.Request, target: str, *, wrong: bool = False
    ) -> web.Response:
        return self._pages.render(
            request, "login.html.j2", status=401 if wrong else 200, target=target, wrong=wrong
        )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
