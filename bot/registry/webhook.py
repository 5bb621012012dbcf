"""A serving layer of your own as a serving target: each move is one signed JSON POST.

Wire format (signed exactly as Vigil's notification webhook, :mod:`bot.notify.webhook`)::

    POST <url>
    Content-Type: application/json; charset=utf-8
    X-Vigil-Timestamp: 1795485600
    X-Vigil-Signature: v1=<hex HMAC-SHA256(secret, "v1:" + timestamp + ":" + raw body)>
    Idempotency-Key: vigil-<32 hex>

    {"event": "promote" | "canary" | "rollback" | "pin" | "retire",
     "model": "fraud-scorer",
     "stable": {"from": "v3", "to": "v2"},
     "traffic": {"v2": 100}, "previous_traffic": {"v3": 90, "v4": 10},
     "actor": "slack:maya", "incident": 12 | null, "text": "<the move in words>",
     "idempotency_key": "vigil-…", "sent_at": "2026-11-24T02:00:00Z"}

The answer decides: a 2xx means the serving layer moved, and Vigil records the move; any
other answer, or none, is a ``RegistryError`` saying so, and Vigil's record is unchanged.
There is no retry here: a person (or a playbook step) is waiting, and the same move sent
again carries the same idempotency key, so the serving layer can tell a repeat. The secret
never leaves as anything but the HMAC; messages name the URL's scheme and host only.
"""

from __future__ import annotations

import json
import logging

from bot.core.clock import Clock, utcnow
from bot.core.errors import ConfigError
from bot.core.timefmt import iso_z
from bot.notify.base import clip
from bot.notify.http import HttpPoster, NoReply, redact, safe_url
from bot.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bot.registry.base import RegistryError
from bot.registry.serving import Found, Move
from bot.registry.settings import MIN_SECRET_LENGTH, ServingWebhookSettings

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"


class ServingWebhookTarget:
    """``ServingTarget`` POSTing each move to one URL; Vigil's record is the only state."""

    name = "webhook"
    owns_versions = False

    def __init__(
        self, settings: ServingWebhookSettings, *, timeout: float = 10.0, clock: Clock = utcnow
    ) -> None:
        if len(settings.secret.reveal()) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"the signing secret must be at least {MIN_SECRET_LENGTH} characters",
                key="registry.webhook",
            )
        self._url = settings.url
        self._secret = settings.secret
        self._http = HttpPoster(None, timeout)
        self._clock = clock
        self.label = f"the serving webhook at {safe_url(settings.url)}"

    async def models(self) -> list[str]:
        return []

    async def versions(self, model: str) -> list[Found]:
        return []

    async def stable(self, model: str) -> str | None:
        return None

    async def apply(self, move: Move) -> None:
        now = self._clock()
        document = {
            "event": move.kind,
            "model": move.model,
            "stable": {"from": move.stable_before, "to": move.stable_after},
            "traffic": dict(move.traffic_after),
            "previous_traffic": dict(move.traffic_before),
            "actor": move.actor,
            "incident": move.incident,
            "text": move.text,
            "idempotency_key": move.key,
            "sent_at": iso_z(now),
        }
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Vigil",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
            IDEMPOTENCY_HEADER: move.key,
        }
        reply = await self._http.post(self._url, body, headers)
        if isinstance(reply, NoReply):
            raise RegistryError(
                f"No answer from {self.label} ({reply.description}): {move.model} was not "
                "moved and Vigil's record is unchanged."
            )
        if not 200 <= reply.status < 300:
            said = clip(" ".join(redact(reply.text, self._url).split()), 200)
            said = said.replace(self._secret.reveal(), "********")
            raise RegistryError(
                f"{self.label} refused the {move.kind} of {move.model} (HTTP {reply.status}"
                f"{': ' + said if said else ''}): Vigil's record is unchanged."
            )
        log.info("serving webhook %s: %s %s", safe_url(self._url), move.kind, move.model)

    async def aclose(self) -> None:
        await self._http.aclose()
