"""A generic outgoing webhook: one signed JSON POST per notification, for whatever a team
already runs (an SMS gateway, Opsgenie's or Teams' inbound hooks behind a small adapter, a
home-made pager).

Wire format::

    POST <url>
    Content-Type: application/json; charset=utf-8
    X-Vigil-Timestamp: 1795485600
    X-Vigil-Signature: v1=<hex HMAC-SHA256(secret, "v1:" + timestamp + ":" + raw body)>

    {"event": "page" | "acknowledge" | "resolve" | "reminder",
     "incident": {"id": 12, "key": "vigil:12", "severity": "P1", "title": "...",
                  "url": "..." | null, "service": "..." | null},
     "target": "@maya", "text": "<first line: what, how bad, what to do>\\n...",
     "sent_at": "2026-11-24T02:00:00Z"}

The signature covers the timestamp as well as the body, as Slack's ``v0`` scheme does, so a
receiver can refuse a captured request replayed later: :func:`verify_signature` (for
receivers and tests) rejects timestamps more than five minutes from its clock. A retry is
signed afresh, with a new timestamp.

Answers: 2xx delivered; 408, 429 and 5xx retry (``Retry-After`` honoured); 3xx and other
4xx give up (the receiver refused this request and will refuse it again); no answer retries.
The secret never leaves this module except as the HMAC; the URL may itself hold a token, so
logs show only its scheme and host.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.core.clock import Clock, utcnow
from bot.core.errors import ConfigError
from bot.core.retry_outcome import Delivered, GiveUp, Outcome, Retry, retry_after
from bot.core.secret import Secret
from bot.core.timefmt import iso_z
from bot.notify.base import (
    Notification,
    clip,
    scrub_outcome,
)
from bot.notify.http import HttpPoster, NoReply, OwnsPoster, Reply, log_outcome, safe_url

if TYPE_CHECKING:  # a channel makes its session on its first send
    import aiohttp

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Vigil-Timestamp"
SIGNATURE_HEADER = "X-Vigil-Signature"
TOLERANCE = timedelta(minutes=5)


def sign(secret: Secret, timestamp: str | int, body: bytes) -> str:
    """``v1=<hex>`` over ``v1:{timestamp}:{body}``."""
    base = b"v1:" + str(timestamp).encode() + b":" + body
    return "v1=" + hmac.new(secret.reveal().encode(), base, hashlib.sha256).hexdigest()


def verify_signature(
    secret: Secret | Sequence[Secret],
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    *,
    now: datetime,
    tolerance: timedelta = TOLERANCE,
) -> bool:
    """True if ``signature`` (the header, possibly several ``v1=`` values comma-separated)
    signs ``body`` at ``timestamp`` under any of the secrets, and ``timestamp`` (the
    ``X-Vigil-Timestamp`` header, Unix seconds) is within ``tolerance`` of ``now``, either
    way. Pass the raw body bytes as received."""
    stamp = (timestamp or "").strip()
    if not signature or not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 18:
        return False  # "²" passes isdigit() alone and int() refuses it; so do 5,000 digits
    sent = int(stamp)
    if abs(now.timestamp() - sent) > tolerance.total_seconds():
        return False
    keys = [secret] if isinstance(secret, Secret) else list(secret)
    given = [p.strip().lower() for p in signature.split(",") if p.strip().startswith("v1=")]
    matched = False
    for key in keys:
        expected = sign(key, sent, body).encode()
        for candidate in given:
            matched |= hmac.compare_digest(expected, candidate.encode("utf-8", "surrogatepass"))
    return matched


def body_of(n: Notification, sent_at: datetime) -> dict[str, Any]:
    """The JSON document for ``n`` (see the module docstring)."""
    return {
        "event": n.kind,
        "incident": {
            "id": n.incident_id,
            "key": n.key,
            "severity": n.severity,
            "title": n.title,
            "url": n.url,
            "service": n.service,
        },
        "target": n.target,
        "text": n.text,
        "sent_at": iso_z(sent_at),
    }


def classify(reply: Reply | NoReply) -> Outcome:
    """The outcome of one POST (see the module docstring)."""
    if isinstance(reply, NoReply):
        if reply.permanent:
            return GiveUp(f"{reply.description}; fix the webhook URL")
        return Retry(f"no answer from the webhook: {reply.description}")
    status = reply.status
    said = clip(" ".join(reply.text.split()), 200)
    note = f": {said}" if said else ""
    if 200 <= status < 300:
        return Delivered(f"the webhook answered HTTP {status}")
    if status in (408, 429) or status >= 500:
        return Retry(f"the webhook answered HTTP {status}{note}", retry_after(reply.retry_after))
    if 300 <= status < 400:
        return GiveUp(f"HTTP {status}: the webhook URL redirects; configure the final URL")
    return GiveUp(f"the webhook answered HTTP {status}{note}")


MIN_SECRET_LENGTH = 16
"""A shorter signing secret could be guessed; ``vigil check`` builds this channel too."""


class WebhookChannel(OwnsPoster):
    """POSTs each notification to one URL, signed with a shared secret."""

    def __init__(
        self,
        url: str,
        secret: Secret,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
        clock: Clock = utcnow,
        name: str = "webhook",
        label: str = "the webhook",
        via: str = "via webhook",
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError("must be an http:// or https:// URL", key="webhook.url")
        if len(secret.reveal()) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"VIGIL_WEBHOOK_SECRET must be at least {MIN_SECRET_LENGTH} characters "
                "(`openssl rand -hex 32` makes one)",
                key="notify.webhook",
            )
        self._url = url
        self._secret = secret
        self._http = HttpPoster(session, timeout)
        self._clock = clock
        self.name = name
        self.label = label
        self.via = via

    async def send(self, notification: Notification) -> Outcome:
        now = self._clock()
        body = json.dumps(
            body_of(notification, now), ensure_ascii=False, separators=(",", ":")
        ).encode()
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Vigil",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        reply = await self._http.post(self._url, body, headers)
        outcome = scrub_outcome(classify(reply), self._secret.reveal(), self._url)
        where = safe_url(self._url)
        log_outcome(
            log,
            outcome,
            "webhook %s for #%d to %s",
            notification.kind,
            notification.incident_id,
            where,
        )
        return outcome
