"""PagerDuty Events API v2: trigger, acknowledge and resolve one PagerDuty incident per ours.

Wire format (``POST /v2/enqueue``, JSON)::

    {"routing_key": "<32 chars>", "event_action": "trigger" | "acknowledge" | "resolve",
     "dedup_key": "vigil:12",
     "payload": {"summary": "P1 #12 fraud-scorer accuracy below SLA", "source": "vigil",
                 "severity": "critical", "timestamp": "...", "component": "fraud-scorer",
                 "custom_details": {"text": "...", "incident": 12, "severity": "P1"}},
     "links": [{"href": "<incident URL>", "text": "Vigil incident #12"}],
     "client": "Vigil", "client_url": "<incident URL>"}

``payload``, ``links`` and ``client`` go with triggers only (PagerDuty ignores them on the
other actions). ``dedup_key`` is our incident key, so acknowledge/resolve find the incident
the trigger made and PagerDuty's webhooks bring the key back (:mod:`.pagerduty_webhook`).
A reminder is sent as a trigger again: PagerDuty folds it into the open incident (no second
incident, no second notification; PagerDuty's own escalation does the reminding), and it
recreates the incident if someone resolved it in PagerDuty only. Severity P1..P4 maps to
critical, error, warning, info.

Answers, as PagerDuty documents them:

=====================================  ==================================================
answer                                 outcome
=====================================  ==================================================
2xx (202 "Event processed")            Delivered
400 ``{"errors": [...]}``              GiveUp, quoting PagerDuty's message and errors
408, 429, 5xx                          Retry (``Retry-After`` if sent, else caller backs off)
other 3xx/4xx (404: wrong URL, 413)    GiveUp
no answer (refused, reset, timeout)    Retry
=====================================  ==================================================

The routing key is a secret (anyone holding it can page the service): it is put into the
request body and nowhere else, and anything PagerDuty says back is scrubbed of it before it
reaches an outcome or a log line.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from bot.core.errors import ConfigError
from bot.core.retry_outcome import Delivered, GiveUp, Outcome, Retry, retry_after
from bot.core.secret import Secret
from bot.notify.base import (
    Kind,
    Notification,
    clip,
    scrub_outcome,
)
from bot.notify.http import HttpPoster, NoReply, OwnsPoster, Reply, log_outcome, safe_url
from bot.notify.settings import DEFAULT_URL, ROUTING_KEY_LENGTH

if TYPE_CHECKING:  # a channel makes its session on its first send
    import aiohttp

log = logging.getLogger(__name__)

SUMMARY_LIMIT = 1024
DEDUP_KEY_LIMIT = 255
SEVERITY = {"P1": "critical", "P2": "error", "P3": "warning", "P4": "info"}
ACTION: dict[Kind, str] = {
    "page": "trigger",
    "reminder": "trigger",
    "acknowledge": "acknowledge",
    "resolve": "resolve",
}


def event(n: Notification, *, source: str, client: str) -> dict[str, Any]:
    """The Events API v2 body for ``n``, without ``routing_key`` (added only when sending,
    so this dict may be logged or asserted on)."""
    action = ACTION[n.kind]
    body: dict[str, Any] = {"event_action": action, "dedup_key": n.key}
    if action != "trigger":
        return body
    payload: dict[str, Any] = {
        "summary": clip(f"{n.severity} #{n.incident_id} {n.title}".strip(), SUMMARY_LIMIT),
        "source": source,
        "severity": SEVERITY[n.severity],
        "custom_details": {
            "text": n.text,
            "incident": n.incident_id,
            "severity": n.severity,
        },
    }
    if n.at is not None:
        payload["timestamp"] = n.at.isoformat()
    if n.service:
        payload["component"] = n.service
    body["payload"] = payload
    body["client"] = client
    if n.url:
        body["client_url"] = n.url
        body["links"] = [{"href": n.url, "text": f"Vigil incident #{n.incident_id}"}]
    return body


def _said(text: str) -> tuple[str, list[str]]:
    """PagerDuty's ``message`` and ``errors`` from a response body (tolerating non-JSON)."""
    try:
        data = json.loads(text)
    except ValueError:
        return clip(" ".join(text.split()), 200), []
    if not isinstance(data, dict):
        return "", []
    message = data.get("message")
    errors = data.get("errors")
    return (
        str(message) if message else "",
        [str(e) for e in errors] if isinstance(errors, list) else [],
    )


def classify(action: str, dedup_key: str, reply: Reply | NoReply) -> Outcome:
    """The outcome of one Events API call (see the table in the module docstring)."""
    if isinstance(reply, NoReply):
        if reply.permanent:
            return GiveUp(f"{reply.description}; fix the PagerDuty URL")
        return Retry(f"no answer from PagerDuty: {reply.description}")
    status = reply.status
    message, errors = _said(reply.text)
    if 200 <= status < 300:
        note = f" ({message})" if message else ""
        return Delivered(f"PagerDuty accepted the {action} for {dedup_key}{note}")
    said = ": ".join(p for p in (message, "; ".join(errors)) if p) or "no reason given"
    if status == 429:
        return Retry("rate limited by PagerDuty (HTTP 429)", retry_after(reply.retry_after))
    if status >= 500 or status == 408:
        return Retry(f"PagerDuty answered HTTP {status} ({said})", retry_after(reply.retry_after))
    if status == 400:
        return GiveUp(f"{said} (HTTP 400)")
    if 300 <= status < 400:
        return GiveUp(f"HTTP {status}: the PagerDuty URL redirects; configure the final URL")
    return GiveUp(f"HTTP {status} from PagerDuty ({said})")


class PagerDutyChannel(OwnsPoster):
    """Sends a notification as a PagerDuty event; one PagerDuty service per channel.

    ``url`` is configurable for EU accounts (``events.eu.pagerduty.com``), proxies and the
    tests' stand-in. ``source`` names this Vigil in PagerDuty (``payload.source``).
    """

    def __init__(
        self,
        *,
        routing_key: Secret,
        url: str = DEFAULT_URL,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
        source: str = "vigil",
        client: str = "Vigil",
        name: str = "pagerduty",
        label: str = "PagerDuty",
    ) -> None:
        if len(routing_key.reveal()) != ROUTING_KEY_LENGTH:
            raise ConfigError(
                f"must be the {ROUTING_KEY_LENGTH}-character integration key of an Events "
                "API v2 integration",
                key="pagerduty.routing_key",
            )
        if not source.strip():
            raise ConfigError("must not be empty (PagerDuty requires it)", key="pagerduty.source")
        self._routing_key = routing_key
        self._http = HttpPoster(session, timeout)
        self.url = url
        self.source = source
        self.client = client
        self.name = name
        self.label = label
        self.via = f"via {label}"

    async def send(self, notification: Notification) -> Outcome:
        action = ACTION[notification.kind]
        if len(notification.key) > DEDUP_KEY_LIMIT:
            return GiveUp(
                f"incident key is {len(notification.key)} characters; PagerDuty's dedup_key "
                f"allows {DEDUP_KEY_LIMIT}"
            )
        body = {
            "routing_key": self._routing_key.reveal(),
            **event(notification, source=self.source, client=self.client),
        }
        reply = await self._http.post(
            self.url,
            json.dumps(body).encode(),
            {"Content-Type": "application/json", "Accept": "application/json"},
        )
        outcome = classify(action, notification.key, reply)
        outcome = scrub_outcome(outcome, self._routing_key.reveal())
        where = safe_url(self.url)
        log_outcome(
            log, outcome, "PagerDuty %s for #%d via %s", action, notification.incident_id, where
        )
        return outcome
