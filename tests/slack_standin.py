"""A local stand-in for the Slack Web API, speaking Slack's real wire format.

Slack cannot be reached from the tests, and mocking ``AsyncWebClient`` would skip the code that
breaks in production: form vs JSON encoding, ``ok: false`` bodies on HTTP 200, 429s with
``Retry-After``, retry handlers. So the bot talks to this aiohttp server on 127.0.0.1 through the
real ``slack_sdk`` client (``AsyncWebClient(token=..., base_url=standin.url)``), and the tests
read back what it recorded. Files go through the v2 upload flow slack_sdk's
``files_upload_v2`` uses (``files.getUploadURLExternal``, a POST of the bytes to the upload
URL, which points back at the stand-in, then ``files.completeUploadExternal``); ``files``
keeps each one's bytes, title and where it was shared.

Messages keep their ``metadata`` (``event_type`` + ``event_payload``), which
``conversations.history`` and ``conversations.replies`` return with ``include_all_metadata``,
paginated by cursor as Slack does; reading history needs the ``*:history`` scope of the
channel's kind, and ``conversations.list`` / ``conversations.info`` the ``*:read`` one, so a
test can take them away (``scopes=``). ``down()`` refuses (503), drops connections, or
hangs (no answer until ``up()``), for every request or for the Web API only.
``hold(method)`` lets the next call to a method do its work (the message is posted) but
keeps its answer back until released: the moment between Slack accepting a message and the
bot hearing so, where a test kills the bot.

Usage::

    async with SlackStandin() as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.url)
        ...
        await slack.wait_for(lambda: slack.calls_to("chat.postMessage"))
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from aiohttp import web

from tests.slack_signing import API_APP_ID, TEAM_DOMAIN, TEAM_ID

T = TypeVar("T")

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
BOT_SCOPES = (
    "chat:write,commands,channels:manage,groups:write,im:write,pins:write,users:read,files:write,"
    "channels:history,groups:history,im:history,mpim:history,channels:read,groups:read"
)

FaultKind = Literal["ratelimited", "ok_false", "http_500", "http_503", "disconnect"]
DownMode = Literal["503", "disconnect", "hang"]

_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")
_CHANNEL_NAME = re.compile(r"^[a-z0-9_-]{1,80}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_EVENT_TYPE = re.compile(r"^[a-zA-Z0-9_]{1,255}$")
_HISTORY_SCOPE = {"C": "channels:history", "G": "groups:history", "D": "im:history"}
HISTORY_LIMIT_MAX = 999  # Slack: conversations.history/replies take at most 999 per page
RESPONSE_URL_MAX_USES = 5  # Slack: a response_url may be used five times.


@dataclass(frozen=True)
class Call:
    """One HTTP request that reached the stand-in, and how it was answered."""

    method: str
    args: dict[str, Any]
    at: float
    status: int = 200
    ok: bool = True
    error: str | None = None
    token: str | None = None


@dataclass
class Message:
    """A channel message's current state; ``edits`` keeps the versions chat.update replaced."""

    channel: str
    ts: str
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    user: str = BOT_USER_ID
    pinned: bool = False
    edits: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] | None = None

    def wire(self, *, with_metadata: bool = True) -> dict[str, Any]:
        """The ``message`` object Slack returns for a bot post (history leaves ``metadata``
        out unless asked with ``include_all_metadata``)."""
        out: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            "bot_id": BOT_ID,
            "app_id": API_APP_ID,
            "text": self.text,
            "team": TEAM_ID,
            "ts": self.ts,
        }
        if self.blocks:
            out["blocks"] = self.blocks
        if self.attachments:
            out["attachments"] = self.attachments
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.files:
            out["files"] = self.files
            out["upload"] = True
        if self.edits:
            out["edited"] = {"user": self.user, "ts": self.edits[-1]["edited_ts"]}
        if self.metadata is not None and with_metadata:
            out["metadata"] = self.metadata
        return out


@dataclass
class Hold:
    """The next call to ``method`` is served (its effect happens) but not answered until
    :meth:`release`; ``accepted`` is set once the stand-in has done the work."""

    method: str
    when: Callable[[dict[str, Any]], bool] = lambda _args: True
    accepted: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    call: Call | None = None

    def release(self) -> None:
        self.released.set()


@dataclass
class File:
    """A file of the v2 upload flow: announced (getUploadURLExternal), its bytes POSTed to
    the upload URL, then shared (completeUploadExternal) into a channel or thread."""

    id: str
    filename: str
    length: int
    alt_txt: str | None = None
    data: bytes | None = None
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    shared: bool = False

    def wire(self) -> dict[str, Any]:
        """The file object Slack returns (the fields a client reads)."""
        png = (self.data or b"").startswith(b"\x89PNG")
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.filename,
            "title": self.title or self.filename,
            "size": len(self.data or b""),
            "mimetype": "image/png" if png else "application/octet-stream",
            "filetype": "png" if png else "binary",
            "user": BOT_USER_ID,
            "channels": [self.channel] if self.channel and self.channel[0] == "C" else [],
        }
        if self.alt_txt:
            out["alt_txt"] = self.alt_txt
        return out


@dataclass(frozen=True)
class Ephemeral:
    """A chat.postEphemeral message: seen by one user only, never in ``messages()``."""

    channel: str
    user: str
    message_ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None


@dataclass(frozen=True)
class OpenedView:
    """A modal opened with views.open."""

    id: str
    trigger_id: str
    view: dict[str, Any]


@dataclass(frozen=True)
class Response:
    """A JSON body accepted at a response_url."""

    token: str
    url: str
    body: dict[str, Any]
    at: float

    @property
    def response_type(self) -> str | None:
        value = self.body.get("response_type")
        return str(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.body.get("text", ""))

    @property
    def blocks(self) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = self.body.get("blocks") or []
        return blocks

    @property
    def replace_original(self) -> bool:
        return _truthy(self.body.get("replace_original"))

    @property
    def delete_original(self) -> bool:
        return _truthy(self.body.get("delete_original"))


@dataclass
class _Fault:
    kind: FaultKind
    remaining: int
    error: str
    retry_after: int
    skip: int = 0  # calls let through before the fault starts


class _Reply(Exception):
    """Raised inside a method handler to answer with ``ok: false``."""

    def __init__(self, error: str, *, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra


def _truthy(value: Any) -> bool:
    """Slack's booleans arrive as JSON true, "true" or "1" depending on the encoding."""
    if isinstance(value, str):
        return value.lower() in ("1", "true")
    return bool(value)


def _ts_sequence(start: int) -> Callable[[], str]:
    """Unique, increasing message timestamps like ``1732500000.000100``."""
    counter = itertools.count(start, 100)

    def nxt() -> str:
        n = next(counter)
        return f"{n // 1_000_000}.{n % 1_000_000:06d}"

    return nxt


class SlackStandin:
    """An aiohttp server on an ephemeral 127.0.0.1 port answering like slack.com/api.

    Every request is recorded in ``calls`` (failed ones too, with their status and error) and
    wakes ``wait_for``. State is kept per channel so tests assert on what a user would see
    (``messages(channel)``), not only on which calls were made.
    """

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test",  # noqa: S107 - the fake token the stand-in accepts
        strict_users: bool = False,
        scopes: str = BOT_SCOPES,
    ) -> None:
        self.bot_token = bot_token
        self.strict_users = strict_users
        self.scopes = frozenset(scopes.split(","))
        self.calls: list[Call] = []
        self.responses: list[Response] = []
        self.ephemerals: list[Ephemeral] = []
        self.views: list[OpenedView] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.members: dict[str, set[str]] = {}
        self.files: dict[str, File] = {}
        self._messages: dict[tuple[str, str], Message] = {}
        self._dms: dict[frozenset[str], str] = {}
        self._response_tokens: dict[str, int] = {}
        self._used_triggers: set[str] = set()
        self._faults: dict[str, deque[_Fault]] = {}
        self._down: DownMode | None = None
        self._down_api_only = False
        self._back = asyncio.Event()  # set by up(): requests hanging in "hang" mode go on
        self._holds: dict[str, deque[Hold]] = {}
        self._every_hold: list[Hold] = []
        self._next_ts = _ts_sequence(1_732_500_000_000_100)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._cond: asyncio.Condition | None = None
        self._base = ""

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> SlackStandin:
        self._cond = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{token}", self._handle_response)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._base = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        for hold in self._every_hold:  # nothing waits for an answer that never comes
            hold.release()
        self._back.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """The Web API base for ``AsyncWebClient(base_url=...)``; ends with ``/`` as it must."""
        return f"{self._base}/api/"

    # -- setup helpers -----------------------------------------------------------------------

    def add_channel(self, name: str, *, channel_id: str | None = None) -> str:
        """Pre-create a public channel the bot is a member of; returns its id."""
        cid = channel_id or self._new_id("C")
        self.channels[cid] = self._channel_object(cid, name)
        self.members.setdefault(cid, {BOT_USER_ID})
        return cid

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        email: str | None = None,
        tz: str = "UTC",
        is_bot: bool = False,
    ) -> None:
        """Register a workspace member for users.info (needed when ``strict_users`` is on)."""
        real = real_name or name
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "deleted": False,
            "real_name": real,
            "tz": tz,
            "is_bot": is_bot,
            "is_admin": False,
            "profile": {
                "real_name": real,
                "display_name": name,
                "email": email or f"{name}@example.com",
                "team": TEAM_ID,
            },
        }

    def response_url(self, n: int | str | None = None) -> str:
        """A response_url served by the stand-in; ``n`` names it so tests can find it again."""
        token = str(n) if n is not None else f"auto{next(self._ids)}"
        self._response_tokens.setdefault(token, 0)
        return f"{self._base}/response/{token}"

    # -- fault injection ---------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        times: int = 1,
        kind: FaultKind = "ratelimited",
        *,
        retry_after: int = 1,
        error: str | None = None,
        after: int = 0,
    ) -> None:
        """Make the next ``times`` calls to ``method`` ("*" for any, "response_url",
        "upload" for the file upload URL) fail, once ``after`` more calls have succeeded.

        ``ratelimited``: HTTP 429, ``Retry-After`` header, ``{"ok": false, "error":
        "ratelimited"}``. ``ok_false``: HTTP 200 with ``error`` (default ``internal_error``).
        ``http_500`` / ``http_503``: that status. ``disconnect``: the connection is dropped.
        """
        default = {
            "ratelimited": "ratelimited",
            "ok_false": "internal_error",
            "http_500": "internal_error",
            "http_503": "service_unavailable",
            "disconnect": "disconnected",
        }[kind]
        self._faults.setdefault(method, deque()).append(
            _Fault(kind, times, error or default, retry_after, after)
        )

    def down(self, mode: DownMode = "503", *, web_api_only: bool = False) -> None:
        """Every request fails until ``up()``: HTTP 503, a dropped connection, or ``hang``:
        no answer at all until ``up()`` (a Slack gone silent; the caller's timeout decides).

        ``web_api_only``: only ``/api/`` methods fail; response_url and uploads still work
        (Slack's Web API unreachable while its hooks answer).
        """
        self._down = mode
        self._down_api_only = web_api_only
        self._back.clear()

    def up(self) -> None:
        self._down = None
        self._down_api_only = False
        self._back.set()

    def hold(self, method: str, when: Callable[[dict[str, Any]], bool] | None = None) -> Hold:
        """Serve the next call to ``method`` (whose arguments satisfy ``when``, if given) but
        keep its answer back until ``release()``."""
        hold = Hold(method) if when is None else Hold(method, when)
        self._holds.setdefault(method, deque()).append(hold)
        self._every_hold.append(hold)
        return hold

    # -- reading state -----------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def messages(self, channel: str) -> list[Message]:
        """Current messages in ``channel`` (thread replies included), oldest first."""
        found = [m for (ch, _), m in self._messages.items() if ch == channel]
        return sorted(found, key=lambda m: float(m.ts))

    def message(self, channel: str, ts: str) -> Message:
        return self._messages[(channel, ts)]

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """Replies under ``thread_ts``, oldest first (the parent excluded)."""
        return [m for m in self.messages(channel) if m.thread_ts == thread_ts and m.ts != thread_ts]

    def shared_files(self, channel: str, thread_ts: str | None = None) -> list[File]:
        """Files shared into ``channel`` (into the thread of ``thread_ts`` when given)."""
        return [
            f
            for f in self.files.values()
            if f.shared and f.channel == channel and (thread_ts is None or f.thread_ts == thread_ts)
        ]

    def responses_to(self, url: str) -> list[Response]:
        return [r for r in self.responses if r.url == url]

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,  # noqa: ASYNC109 - callers expect `timeout=`, as in asyncio
    ) -> T:
        """Wait until ``predicate()`` is truthy, re-checking after every request; no polling.

        Returns the truthy value so ``msg = await slack.wait_for(lambda: ...)`` reads well.
        """
        assert self._cond is not None, "use `async with SlackStandin()`"
        async with self._cond:
            try:
                return await asyncio.wait_for(self._cond.wait_for(predicate), timeout)
            except TimeoutError:
                seen = ", ".join(f"{c.method}:{c.status}:{c.error or 'ok'}" for c in self.calls)
                raise TimeoutError(
                    f"condition not met within {timeout}s; calls: [{seen}]"
                ) from None

    # -- HTTP plumbing -----------------------------------------------------------------------

    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        assert self._cond is not None
        async with self._cond:
            self._cond.notify_all()

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                return fault
        return None

    async def _failure(
        self, request: web.Request, method: str, args: dict[str, Any], token: str | None
    ) -> web.StreamResponse | None:
        """The answer for a request hit by ``down()`` or ``fail_next``; None to serve normally."""
        api = method not in ("response_url", "upload")
        if self._down == "hang" and (api or not self._down_api_only):
            await self._record(Call(method, args, time.monotonic(), 0, False, "hanging", token))
            await self._back.wait()  # answered normally once Slack is back (or never)
            return None
        if self._down is not None and (api or not self._down_api_only):
            fault: _Fault | None = (
                _Fault("disconnect", 1, "disconnected", 0)
                if self._down == "disconnect"
                else _Fault("http_503", 1, "service_unavailable", 0)
            )
        else:
            fault = self._take_fault(method)
        if fault is None:
            return None
        status = {"ratelimited": 429, "ok_false": 200, "http_500": 500, "http_503": 503}.get(
            fault.kind, 0
        )
        await self._record(Call(method, args, time.monotonic(), status, False, fault.error, token))
        if fault.kind == "disconnect":
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError  # aiohttp drops the connection without a response
        headers = {"Retry-After": str(fault.retry_after)} if fault.kind == "ratelimited" else {}
        return web.json_response(
            {"ok": False, "error": fault.error}, status=status, headers=headers
        )

    @staticmethod
    async def _read_args(request: web.Request) -> dict[str, Any]:
        """Merge query, form and JSON arguments, decoding JSON-in-form fields like ``blocks``."""
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    args.update(body)
            else:
                form = await request.post()
                args.update({k: v for k, v in form.items() if isinstance(v, str)})
        for name in _JSON_FIELDS:
            if isinstance(args.get(name), str) and args[name]:
                # Left as sent when not JSON; the method then answers invalid_* as Slack would.
                with contextlib.suppress(json.JSONDecodeError):
                    args[name] = json.loads(args[name])
        return args

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await self._read_args(request)
        auth = request.headers.get("Authorization", "")
        token: str | None = auth[7:] if auth.startswith("Bearer ") else None
        token = token or args.pop("token", None)
        args.pop("token", None)

        failure = await self._failure(request, method, args, token)
        if failure is not None:
            return failure

        headers: dict[str, str] = {}
        try:
            if not token:
                raise _Reply("not_authed")
            if token != self.bot_token:
                raise _Reply("invalid_auth")
            handler = self._methods().get(method)
            if handler is None:
                raise _Reply("unknown_method")
            body = {"ok": True, **handler(args)}
            if method == "auth.test":
                headers["X-OAuth-Scopes"] = BOT_SCOPES
            status, error = 200, None
        except _Reply as reply:
            body = {"ok": False, "error": reply.error, **reply.extra}
            status, error = reply.status, reply.error
        call = Call(method, args, time.monotonic(), status, error is None, error, token)
        await self._record(call)
        hold = next((h for h in self._holds.get(method, ()) if h.when(args)), None)
        if hold is not None:
            self._holds[method].remove(hold)
            hold.call = call
            hold.accepted.set()
            await hold.released.wait()  # done at Slack; the caller hears nothing until now
        return web.json_response(body, status=status, headers=headers)

    async def _handle_response(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        url = f"{self._base}/response/{token}"
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        args = body if isinstance(body, dict) else {}
        failure = await self._failure(request, "response_url", args, None)
        if failure is not None:
            return failure
        error: str | None = None
        status = 200
        if token not in self._response_tokens:
            status, error = 404, "no_such_url"
        elif not isinstance(body, dict):
            status, error = 400, "invalid_payload"
        elif self._response_tokens[token] >= RESPONSE_URL_MAX_USES:
            status, error = 404, "used_url"
        elif not (args.get("text") or args.get("blocks") or _truthy(args.get("delete_original"))):
            status, error = 400, "no_text"
        await self._record(
            Call("response_url", args, time.monotonic(), status, error is None, error, None)
        )
        if error is not None:
            return web.json_response({"ok": False, "error": error}, status=status)
        self._response_tokens[token] += 1
        self.responses.append(Response(token, url, args, time.monotonic()))
        return web.json_response({"ok": True})

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        """The upload URL of files.getUploadURLExternal: the bytes, raw or as multipart.

        Answers like files.slack.com: ``200 OK - <bytes>`` as text/plain, 404 for an id it
        never issued. Fault injection and ``down()`` apply under the method name ``upload``.
        """
        file_id = request.match_info["file_id"]
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            part = next((v for v in form.values() if isinstance(v, web.FileField)), None)
            data = part.file.read() if part is not None else b""
        else:
            data = await request.read()
        args: dict[str, Any] = {"file_id": file_id, "bytes": len(data)}
        failure = await self._failure(request, "upload", args, None)
        if failure is not None:
            return failure
        known = self.files.get(file_id)
        if known is None or known.shared:
            await self._record(Call("upload", args, time.monotonic(), 404, False, "not_found"))
            return web.Response(status=404, text="Not Found", content_type="text/plain")
        known.data = data
        await self._record(Call("upload", args, time.monotonic()))
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    # -- Web API methods ---------------------------------------------------------------------

    def _methods(self) -> Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "conversations.open": self._conversations_open,
            "conversations.create": self._conversations_create,
            "conversations.invite": self._conversations_invite,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.list": self._conversations_list,
            "conversations.info": self._conversations_info,
            "pins.add": self._pins_add,
            "views.open": self._views_open,
            "users.info": self._users_info,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _channel_object(self, cid: str, name: str) -> dict[str, Any]:
        return {
            "id": cid,
            "name": name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": False,
            "created": int(time.time()),
            "is_archived": False,
            "is_general": False,
            "name_normalized": name,
            "is_member": True,
            "creator": BOT_USER_ID,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }

    def _dm_for(self, users: list[str]) -> tuple[str, bool]:
        key = frozenset(users)
        if key in self._dms:
            return self._dms[key], True
        cid = self._new_id("D" if len(key) == 1 else "G")
        self._dms[key] = cid
        return cid, False

    def _resolve_channel(self, value: Any) -> str:
        """Channel ids pass through; ``#name`` and user ids resolve like Slack resolves them."""
        if not value or not isinstance(value, str):
            raise _Reply("channel_not_found")
        if value.startswith("#") or _CHANNEL_NAME.match(value):
            name = value.lstrip("#")
            for cid, chan in self.channels.items():
                if chan["name"] == name:
                    return cid
            raise _Reply("channel_not_found")
        if value[0] in "UW":
            self._check_user(value)
            return self._dm_for([value])[0]
        return value

    def _check_user(self, user_id: str) -> None:
        if self.strict_users and user_id not in self.users:
            raise _Reply("user_not_found")

    @staticmethod
    def _list_of_dicts(args: dict[str, Any], name: str) -> list[dict[str, Any]] | None:
        value = args.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise _Reply(f"invalid_{name}")
        return value

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Vigil Test",
            "user": "vigil",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        blocks = self._list_of_dicts(args, "blocks") or []
        attachments = self._list_of_dicts(args, "attachments") or []
        text = str(args.get("text") or "")
        if not (text or blocks or attachments):
            raise _Reply("no_text")
        thread_ts = args.get("thread_ts") or None
        metadata = self._metadata(args)
        msg = Message(channel, self._next_ts(), text, blocks, attachments, thread_ts)
        msg.metadata = metadata
        self._messages[(channel, msg.ts)] = msg
        return {"channel": channel, "ts": msg.ts, "message": msg.wire()}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        msg = self._messages.get((channel, str(args.get("ts"))))
        if msg is None:
            raise _Reply("message_not_found")
        blocks = self._list_of_dicts(args, "blocks")
        attachments = self._list_of_dicts(args, "attachments")
        text = args.get("text")
        if text is None and blocks is None and attachments is None:
            raise _Reply("no_text")
        metadata = self._metadata(args)
        msg.edits.append(
            {
                "text": msg.text,
                "blocks": msg.blocks,
                "attachments": msg.attachments,
                "edited_ts": self._next_ts(),
            }
        )
        # Slack keeps previous blocks/attachments unless the field is sent (even as []).
        if text is not None:
            msg.text = str(text)
        if blocks is not None:
            msg.blocks = blocks
        if attachments is not None:
            msg.attachments = attachments
        if metadata is not None:
            msg.metadata = metadata
        return {"channel": channel, "ts": msg.ts, "text": msg.text, "message": msg.wire()}

    @staticmethod
    def _metadata(args: dict[str, Any]) -> dict[str, Any] | None:
        """Message metadata as Slack checks it: ``event_type`` (letters, digits, ``_``) and an
        object ``event_payload``; anything else is ``invalid_metadata_format``."""
        raw = args.get("metadata")
        if raw is None or raw == "":
            return None
        if not isinstance(raw, dict):
            raise _Reply("invalid_metadata_format")
        event_type, payload = raw.get("event_type"), raw.get("event_payload")
        if not isinstance(event_type, str) or not _EVENT_TYPE.match(event_type):
            raise _Reply("invalid_metadata_format")
        if not isinstance(payload, dict):
            raise _Reply("invalid_metadata_format")
        return {"event_type": event_type, "event_payload": payload}

    def _history_channel(self, args: dict[str, Any]) -> str:
        """The channel of a history read: an id (Slack does not take names here) the bot may
        read with its scopes."""
        channel = str(args.get("channel") or "")
        if not _CHANNEL_ID.match(channel):
            raise _Reply("channel_not_found")
        known = channel in self.channels or channel in self._dms.values()
        known = known or any(ch == channel for ch, _ in self._messages)
        if not known:
            raise _Reply("channel_not_found")
        needed = _HISTORY_SCOPE[channel[0]]
        if needed not in self.scopes:
            raise _Reply("missing_scope", needed=needed, provided=",".join(sorted(self.scopes)))
        return channel

    @staticmethod
    def _page(
        found: list[Message], args: dict[str, Any], *, default_limit: int
    ) -> tuple[list[Message], str]:
        """One page of ``found`` (already in answer order) from ``cursor``; the next cursor."""
        try:
            limit = int(str(args.get("limit") or default_limit))
        except ValueError:
            raise _Reply("invalid_limit") from None
        limit = max(1, min(limit, HISTORY_LIMIT_MAX))
        cursor = str(args.get("cursor") or "")
        start = 0
        if cursor:
            try:
                start = int(base64.b64decode(cursor).decode().removeprefix("next_ts:"))
            except ValueError:
                raise _Reply("invalid_cursor") from None
        page = found[start : start + limit]
        more = start + limit < len(found)
        next_cursor = base64.b64encode(f"next_ts:{start + limit}".encode()).decode() if more else ""
        return page, next_cursor

    @staticmethod
    def _in_window(msg: Message, args: dict[str, Any]) -> bool:
        """``oldest``/``latest`` bounds, exclusive unless ``inclusive`` (Slack's rules)."""
        inclusive = _truthy(args.get("inclusive"))
        ts = float(msg.ts)
        oldest, latest = args.get("oldest"), args.get("latest")
        if oldest not in (None, "") and (
            ts < float(oldest) or (ts == float(oldest) and not inclusive)
        ):
            return False
        return latest in (None, "") or ts < float(latest) or (ts == float(latest) and inclusive)

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """A channel's messages, newest first; thread replies only as their parent (Slack)."""
        channel = self._history_channel(args)
        with_metadata = _truthy(args.get("include_all_metadata"))
        found = [
            m
            for m in reversed(self.messages(channel))
            if m.thread_ts in (None, m.ts) and self._in_window(m, args)
        ]
        page, cursor = self._page(found, args, default_limit=100)
        return {
            "messages": [self._with_replies(m, with_metadata) for m in page],
            "has_more": bool(cursor),
            "pin_count": sum(1 for m in self.messages(channel) if m.pinned),
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent first, then the replies oldest first (Slack's order)."""
        channel = self._history_channel(args)
        ts = str(args.get("ts") or "")
        if not ts:
            raise _Reply("invalid_arguments")
        parent = self._messages.get((channel, ts))
        if parent is None:
            raise _Reply("thread_not_found")
        with_metadata = _truthy(args.get("include_all_metadata"))
        replies = [m for m in self.thread(channel, ts) if self._in_window(m, args)]
        page, cursor = self._page([parent, *replies], args, default_limit=1000)
        return {
            "messages": [self._with_replies(m, with_metadata) for m in page],
            "has_more": bool(cursor),
            "response_metadata": {"next_cursor": cursor},
        }

    def _with_replies(self, msg: Message, with_metadata: bool) -> dict[str, Any]:
        out = msg.wire(with_metadata=with_metadata)
        replies = self.thread(msg.channel, msg.ts) if msg.thread_ts in (None, msg.ts) else []
        if replies:
            out["thread_ts"] = msg.ts
            out["reply_count"] = len(replies)
            out["latest_reply"] = replies[-1].ts
        return out

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        """One channel's object (needs the read scope of its kind, as ``conversations.list``)."""
        chan = self.channels.get(str(args.get("channel") or ""))
        if chan is None:
            raise _Reply("channel_not_found")
        needed = "groups:read" if chan["is_private"] else "channels:read"
        if needed not in self.scopes:
            raise _Reply("missing_scope", needed=needed, provided=",".join(sorted(self.scopes)))
        return {"channel": chan}

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        """Channels by name (public ones; private ones with ``types=private_channel``)."""
        types = str(args.get("types") or "public_channel").split(",")
        needed = [
            scope
            for kind, scope in (
                ("public_channel", "channels:read"),
                ("private_channel", "groups:read"),
            )
            if kind in types and scope not in self.scopes
        ]
        if needed:
            raise _Reply("missing_scope", needed=needed[0], provided=",".join(sorted(self.scopes)))
        found = [
            chan
            for chan in self.channels.values()
            if ("private_channel" if chan["is_private"] else "public_channel") in types
            and not (chan["is_archived"] and _truthy(args.get("exclude_archived")))
        ]
        try:
            limit = max(1, min(int(str(args.get("limit") or 100)), 1000))
            start = int(base64.b64decode(str(args.get("cursor") or "")).decode() or 0)
        except ValueError:
            raise _Reply("invalid_cursor") from None
        more = start + limit < len(found)
        cursor = base64.b64encode(str(start + limit).encode()).decode() if more else ""
        return {
            "channels": found[start : start + limit],
            "response_metadata": {"next_cursor": cursor},
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        user = args.get("user")
        if not user:
            raise _Reply("user_not_found")
        self._check_user(str(user))
        blocks = self._list_of_dicts(args, "blocks") or []
        text = str(args.get("text") or "")
        if not (text or blocks or args.get("attachments")):
            raise _Reply("no_text")
        ts = self._next_ts()
        eph = Ephemeral(channel, str(user), ts, text, blocks, args.get("thread_ts") or None)
        self.ephemerals.append(eph)
        return {"message_ts": ts}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        raw = args.get("users")
        if isinstance(raw, str):
            users = [u.strip() for u in raw.split(",") if u.strip()]
        elif isinstance(raw, list):
            users = [str(u) for u in raw]
        else:
            users = []
        if not users and args.get("channel"):
            return {"no_op": True, "already_open": True, "channel": {"id": args["channel"]}}
        if not users:
            raise _Reply("users_list_not_supplied")
        for user in users:
            self._check_user(user)
        cid, existed = self._dm_for(users)
        return {"no_op": existed, "already_open": existed, "channel": {"id": cid}}

    def _conversations_create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("name") or "")
        if not name:
            raise _Reply("invalid_name_required")
        if len(name) > 80:
            raise _Reply("invalid_name_maxlength")
        if not _CHANNEL_NAME.match(name):
            raise _Reply("invalid_name_specials")
        if any(c["name"] == name for c in self.channels.values()):
            raise _Reply("name_taken")
        cid = self.add_channel(name)
        chan = self.channels[cid]
        chan["is_private"] = _truthy(args.get("is_private"))
        return {"channel": chan}

    def _conversations_invite(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(args.get("channel"))
        raw = args.get("users") or ""
        users = [u.strip() for u in str(raw).split(",") if u.strip()]
        if not users:
            raise _Reply("no_user")
        if BOT_USER_ID in users:
            raise _Reply("cant_invite_self")
        for user in users:
            self._check_user(user)
        members = self.members.setdefault(cid, {BOT_USER_ID})
        if all(u in members for u in users):
            raise _Reply("already_in_channel")
        members.update(users)
        chan = self.channels.get(cid) or self._channel_object(cid, cid.lower())
        return {"channel": chan}

    def _pins_add(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        msg = self._messages.get((channel, str(args.get("timestamp"))))
        if msg is None:
            raise _Reply("message_not_found")
        if msg.pinned:
            raise _Reply("already_pinned")
        msg.pinned = True
        return {}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = args.get("trigger_id") or args.get("interactivity_pointer")
        view = args.get("view")
        missing = [] if trigger else ["trigger_id"]
        missing += [] if isinstance(view, dict) else ["view"]
        if missing:
            raise _Reply(
                "invalid_arguments",
                response_metadata={
                    "messages": [f"[ERROR] missing required field: {m}" for m in missing]
                },
            )
        assert isinstance(view, dict)
        if trigger in self._used_triggers:
            raise _Reply("exchanged_trigger_id")
        self._used_triggers.add(str(trigger))
        vid = self._new_id("V")
        opened = {
            "id": vid,
            "team_id": TEAM_ID,
            "type": view.get("type", "modal"),
            "title": view.get("title"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{vid}",
            "root_view_id": vid,
            "app_id": API_APP_ID,
            "bot_id": BOT_ID,
        }
        self.views.append(OpenedView(vid, str(trigger), view))
        return {"view": opened}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user") or "")
        if not user_id:
            raise _Reply("user_not_found")
        self._check_user(user_id)
        if user_id not in self.users:
            self.add_user(user_id, user_id.lower())
        return {"user": self.users[user_id]}

    def _files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        """Slack: ``filename`` and ``length`` are required; a zero length is
        ``missing_argument``; the answer is an upload URL and the new file's id."""
        filename = str(args.get("filename") or "")
        raw_length = args.get("length")
        missing = [] if filename else ["filename"]
        missing += [] if raw_length not in (None, "") else ["length"]
        if missing:
            raise _Reply(
                "invalid_arguments",
                response_metadata={
                    "messages": [f"[ERROR] missing required field: {m}" for m in missing]
                },
            )
        try:
            length = int(str(raw_length))
        except ValueError:
            raise _Reply(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] length must be an integer"]},
            ) from None
        if length <= 0:
            raise _Reply("missing_argument")
        file_id = self._new_id("F")
        alt = args.get("alt_txt")
        self.files[file_id] = File(file_id, filename, length, str(alt) if alt else None)
        return {"upload_url": f"{self._base}/upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        """Share uploaded files: ``files`` (JSON list of ``{id, title}``) is required; with
        ``thread_ts`` one channel (``channel_id``) must be named. The share is a message in
        the channel (or thread) whose text is ``initial_comment``.

        Unknown ids, ids whose bytes never arrived, and ids shared already are refused with
        ``file_not_found`` (the stand-in's choice: Slack documents no finer code for them).
        """
        raw = args.get("files")
        try:
            items = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError:
            items = None
        if not isinstance(items, list) or not items:
            raise _Reply(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] missing required field: files"]},
            )
        if not all(isinstance(i, dict) and i.get("id") for i in items):
            raise _Reply("invalid_arguments")
        thread_ts = args.get("thread_ts") or None
        channel_arg = args.get("channel_id") or args.get("channels") or None
        if thread_ts and (not channel_arg or "," in str(channel_arg)):
            raise _Reply(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] thread_ts needs exactly one channel"]},
            )
        channel = self._resolve_channel(channel_arg) if channel_arg else None
        found: list[File] = []
        for item in items:
            known = self.files.get(str(item["id"]))
            if known is None or known.data is None or known.shared:
                raise _Reply("file_not_found")
            found.append(known)
        comment = str(args.get("initial_comment") or "")
        for known, item in zip(found, items, strict=True):
            known.title = str(item.get("title") or known.filename)
            known.channel, known.thread_ts = channel, thread_ts
            known.initial_comment = comment or None
            known.shared = True
        if channel is not None:
            msg = Message(channel, self._next_ts(), comment, thread_ts=thread_ts)
            msg.files = [f.wire() for f in found]
            self._messages[(channel, msg.ts)] = msg
        return {"files": [{"id": f.id, "title": f.title} for f in found]}
