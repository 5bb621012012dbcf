"""The web view's session cookie, CSRF tokens and the one safe redirect target. Pure.

A session is ``<expiry>.<HMAC(key, "session:<expiry>")>``: nothing to store on the server,
and the token never leaves the login form (a stolen cookie dies in 12 h and says nothing
about the token). A form that changes something carries ``HMAC(key, "csrf:" + session)``,
which a page of another site cannot read, so it cannot forge the post.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

COOKIE = "vigil_session"
LIFETIME_S = 12 * 3600
HOME = "/incidents"


def _sign(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def new_session(key: bytes, now: float) -> str:
    """A session value good for 12 hours from ``now`` (seconds since the epoch)."""
    expiry = int(now) + LIFETIME_S
    return f"{expiry}.{_sign(key, f'session:{expiry}')}"


def valid_session(key: bytes, value: str | None, now: float) -> bool:
    """Is ``value`` a session this key signed, not yet expired?"""
    if not value:
        return False
    expiry, _, mac = value.partition(".")
    if not (expiry.isascii() and expiry.isdigit() and len(expiry) <= 12):
        return False
    good = _sign(key, f"session:{expiry}")
    return hmac.compare_digest(good, mac) and int(expiry) > now


def csrf_token(key: bytes, session: str) -> str:
    """The hidden ``csrf`` value every changing form of this session carries."""
    return _sign(key, "csrf:" + session)


def csrf_ok(key: bytes, session: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(csrf_token(key, session), given)


def local_path(target: str | None) -> str:
    """``target`` when it is a path on this site, else the incident list: a login link
    must never send anyone to another site (``//evil``, ``/\\evil``, ``https://…``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return HOME
    if any(ord(c) < 0x20 or c == "\\" for c in target):
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return HOME
    return target
