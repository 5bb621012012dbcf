"""A dependency's own state (up or down, why, since when), and its URL fit to be shown.

The poll loop only knows whether a source *ran*; an HTTP check that ran and found the
feature store refusing connections is a working checker watching a dead dependency. This
is the second half: what ``/healthz`` reports under ``dependencies`` and what the alert's
title quotes. Pure: no I/O, the check hands in its outcome and the poll's time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from bot.core.durations import interval_words
from bot.core.timefmt import iso_z

DependencyStateName = Literal["up", "down"]

_SECRET_NAME = re.compile(r"token|key|secret|pass|auth|sig|session|credential|code", re.I)
_SECRET_VALUE = re.compile(r"(?=.*[A-Za-z])(?=.*\d)[A-Za-z0-9_\-.~+/=]{16,}")


@dataclass(frozen=True, slots=True)
class DependencyState:
    """Up or down since ``since``; ``reason`` says why while down ("connection refused")."""

    state: DependencyStateName
    since: datetime
    url: str
    reason: str = ""

    def to_json(self) -> dict[str, str]:
        body = {"state": self.state, "since": iso_z(self.since), "url": self.url}
        if self.state == "down":
            body["reason"] = self.reason
        return body


def observe(
    previous: DependencyState | None, up: bool, reason: str, now: datetime, url: str
) -> DependencyState:
    """Fold one check's outcome into the previous state (None before the first check):
    ``since`` moves only when up/down changes, so "down since 02:10" stays true while the
    cause changes (refused → timed out)."""
    state: DependencyStateName = "up" if up else "down"
    since = previous.since if previous is not None and previous.state == state else now
    return DependencyState(state, since, url, "" if up else reason)


NOT_CHECKED: Mapping[str, str] = {"state": "unknown", "reason": "not checked yet"}
"""What ``/healthz`` says of a configured dependency before its first check has ended."""


def safe_url(url: str) -> str:
    """``url`` without its user and password, and without query parameters that look like
    tokens (by name: ``token``, ``api_key``…; or by value: long letters-and-digits), so an
    alert title, a log line or ``/healthz`` can name the endpoint without leaking them."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    kept = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _SECRET_NAME.search(name) and not _SECRET_VALUE.fullmatch(value or name)
    ]
    query = f"?{urlencode(kept)}" if kept else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"


def down_detail(name: str, reason: str, url: str, interval: timedelta | None) -> str:
    """What follows "feature-store is down" in the alert: why, where, and what next."""
    again = (
        f"Vigil checks again every {interval_words(interval)}"
        if interval
        else "Vigil keeps checking"
    )
    return f"{reason} ({url}); check {name}, {again}"
