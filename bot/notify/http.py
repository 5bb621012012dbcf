"""One JSON POST for the HTTP channels (PagerDuty, the webhook): answered, or why not.

Both channels classify the same two shapes (a status with headers and a body, or no answer
at all), so the plumbing lives here once. Descriptions of failures are built from parts we
choose (host, port, the OS error), never from ``str(exception)``: aiohttp puts the whole URL
in some messages, and a webhook URL may carry a token in its path or query.

A reply's body is the far end's words, and a receiver may echo the request back ("no hook
at /hooks/vigil?token=…"); the channels put those words on the timeline, in the log and in
stored rows. So a body is redacted here, before any channel reads it (:func:`redact`): the
URL's secret-looking query values and its ``user:password`` (as sent, decoded, and as the
Basic auth header aiohttp made of them), then any ``token=…``-like pair and any
``scheme://user:password@`` the body holds.
"""

from __future__ import annotations

import base64
import logging
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit

from bot.core.retry_outcome import Delivered, Outcome

if TYPE_CHECKING:  # at run time aiohttp is imported where a request is made
    import aiohttp

BODY_LIMIT = 4096  # enough for any error message; a huge body is not read into memory
REDACTED = "********"
_SECRET_NAME = re.compile(
    r"token|secret|passw(?:or)?d|passcode|passphrase|pwd|signature|api_?key|credential|auth|"
    r"(?:^|[^a-z])"
    r"(?:key|sig|pass|code|hash)(?:$|[^a-z])",
    re.IGNORECASE,
)
"""A query parameter whose name says it holds a secret: ``token``, ``access_token``,
``api_key``, ``apiKey``, ``key``, ``sig``, ``password``, ``X-Amz-Signature``…"""
_PAIR = re.compile(r"(?<![\w.~-])([\w.~-]+)=([^&\s\"'<>#;,]+)")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
_MIN_SECRET = 4  # a shorter value would blank out unrelated words; its pair is still caught


@dataclass(frozen=True)
class Reply:
    """The remote answered: status, ``Retry-After`` (raw) and the start of the body."""

    status: int
    retry_after: str | None
    text: str


@dataclass(frozen=True)
class NoReply:
    """No HTTP answer. ``permanent`` when the same request cannot work (a malformed URL)."""

    description: str
    permanent: bool = False


def safe_url(url: str) -> str:
    """``https://host:port`` of ``url``: enough to recognise it in a log, without the path
    and query where webhook tokens live."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.netloc else "(no host)"


def secret_name(name: str) -> bool:
    """Whether a query parameter named ``name`` looks like it carries a secret."""
    return bool(_SECRET_NAME.search(name))


def url_secrets(url: str) -> list[str]:
    """The secret parts of ``url``, as sent and decoded: values of secret-looking query
    parameters, the user and password before ``@``, and the Basic auth made of them."""
    parts = urlsplit(url)
    found: list[str] = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if secret_name(name):
            found.append(value)
    for raw in parts.query.split("&"):
        name, _, value = raw.partition("=")
        if secret_name(unquote_plus(name)):
            found += [value, unquote(value)]
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at:
        user, _, password = userinfo.partition(":")
        plain = f"{unquote(user)}:{unquote(password)}"
        found += [userinfo, user, password, unquote(user), unquote(password), plain]
        found.append(base64.b64encode(plain.encode()).decode())
    return sorted({f for f in found if len(f) >= _MIN_SECRET}, key=len, reverse=True)


def redact(text: str, url: str) -> str:
    """``text`` from the far end of ``url`` with no secret of the URL in it, nor any
    ``token=…``-like pair or ``scheme://user:password@`` it holds of its own."""
    for secret in url_secrets(url):
        text = text.replace(secret, REDACTED)
    text = _PAIR.sub(lambda m: f"{m[1]}={REDACTED}" if secret_name(m[1]) else m[0], text)
    return _USERINFO.sub(rf"\1{REDACTED}@", text)


def describe(exc: BaseException, timeout: float) -> NoReply:
    """Why no answer came back, in words, without echoing the URL."""
    import aiohttp  # here, not at the top: building a channel loads no HTTP client

    if isinstance(exc, aiohttp.InvalidURL | ValueError):
        return NoReply("the configured URL is not valid", permanent=True)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return NoReply(f"TLS certificate of {exc.host} rejected")
    if isinstance(exc, aiohttp.ClientConnectorError):
        why = exc.os_error.strerror if exc.os_error.strerror else type(exc.os_error).__name__
        return NoReply(f"cannot connect to {exc.host}:{exc.port} ({why})")
    if isinstance(exc, TimeoutError):  # aiohttp's timeouts subclass it too
        return NoReply(f"no answer within {timeout:g} s")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return NoReply("the server closed the connection before answering")
    if isinstance(exc, ssl.SSLError):
        return NoReply(f"TLS failed ({type(exc).__name__})")
    return NoReply(f"network error ({type(exc).__name__})")


class HttpPoster:
    """POSTs bytes with a per-request timeout, on a borrowed or an owned session.

    Pass the application's ``aiohttp.ClientSession`` to share its connection pool (the
    caller closes it); without one, a session is made on first use (it must be made inside
    the running event loop) and :meth:`aclose` closes it.
    """

    def __init__(self, session: aiohttp.ClientSession | None, timeout: float) -> None:
        self._session = session
        self._owned = session is None
        self.timeout = timeout

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Reply | NoReply:
        import aiohttp  # the first send loads the HTTP client (see describe)

        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.post(
                url,
                data=body,
                headers=dict(headers),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as resp:
                raw = b""
                while len(raw) < BODY_LIMIT:  # read() may return less than asked before EOF
                    chunk = await resp.content.read(BODY_LIMIT - len(raw))
                    if not chunk:
                        break
                    raw += chunk
                return Reply(
                    status=resp.status,
                    retry_after=resp.headers.get("Retry-After"),
                    text=redact(raw.decode("utf-8", errors="replace"), url),
                )
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            return describe(exc, self.timeout)

    async def aclose(self) -> None:
        if self._owned and self._session is not None:
            await self._session.close()
            self._session = None


class OwnsPoster:
    """Mixed into a channel that posts through ``self._http``: gives it ``aclose``."""

    _http: HttpPoster

    async def aclose(self) -> None:
        """Close the session this channel made itself (a borrowed one stays open)."""
        await self._http.aclose()


def log_outcome(log: logging.Logger, outcome: Outcome, what: str, *args: object) -> None:
    """``<what>: <detail>`` at info when delivered, ``<what> failed: <reason>`` at warning
    otherwise; ``what`` is a %-format of ``args``, as a logging call takes it."""
    if isinstance(outcome, Delivered):
        log.info(f"{what}: %s", *args, outcome.detail)
    else:
        log.warning(f"{what} failed: %s", *args, outcome.reason)
