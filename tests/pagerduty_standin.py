"""A local stand-in for PagerDuty: the Events API v2 on one side, the PagerDuty UI on the other.

PagerDuty cannot be reached from the tests, and a mocked HTTP client would skip what breaks
in production (the JSON we actually send, 400 bodies with ``errors``, 429s). So the channel
talks to this aiohttp server on 127.0.0.1 (ephemeral port) through its real HTTP code:

* ``POST /v2/enqueue`` validates like the real endpoint (routing key of 32 characters and
  known, ``event_action``, ``dedup_key`` for acknowledge/resolve and at most 255
  characters, ``payload.summary`` / ``source`` / ``severity`` for triggers) and answers 202
  ``{"status": "success", "message": "Event processed", "dedup_key": …}`` or 400
  ``{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}``.
* It keeps PagerDuty-style incidents by dedup key (triggered → acknowledged → resolved; a
  trigger on an open incident is folded into it; after resolution the same key opens a new
  incident; acknowledging or resolving an unknown key is accepted and changes nothing), so
  tests assert what a PagerDuty user would see: ``standin.incident("vigil:12").status``.
* Faults: ``fail_next(times, status=429 | 500 | 503, retry_after=…)``, ``respond_next``
  for any canned answer, ``fail_next(kind="disconnect")`` to drop the connection.
* The UI side: ``acknowledge_in_ui`` / ``resolve_in_ui`` change an incident as a person in
  PagerDuty would and return the v3 webhook body PagerDuty would send about it (with
  ``signature(body, secret)`` for its ``X-PagerDuty-Signature`` header).

Usage::

    async with PagerDutyStandin() as pd:
        channel = PagerDutyChannel(routing_key=Secret(pd.routing_key), url=pd.url)
        ...
        assert pd.incident("vigil:12").status == "triggered"
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web

ROUTING_KEY = "R0K3a1b2c3d4e5f6a7b8c9d0e1f2a3b4"  # 32 characters, as PagerDuty's are
assert len(ROUTING_KEY) == 32

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
Status = Literal["triggered", "acknowledged", "resolved"]
FaultKind = Literal["status", "disconnect"]

_THROTTLED = {
    "status": "throttle event",
    "message": "Requests for this service are arriving too quickly.  Please retry later.",
}


@dataclass(frozen=True)
class Event:
    """One request to /v2/enqueue, as received (``body`` is None if it was not JSON), and
    how it was answered."""

    body: dict[str, Any] | None
    raw: bytes
    status: int
    answer: dict[str, Any] | str
    at: float

    @property
    def action(self) -> str | None:
        return str(self.body.get("event_action")) if self.body else None


@dataclass
class Incident:
    """A PagerDuty incident as its UI shows it."""

    id: str
    number: int
    dedup_key: str
    summary: str
    severity: str
    source: str
    status: Status = "triggered"
    alerts: int = 1
    custom_details: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, Any]] = field(default_factory=list)
    log: list[tuple[str, str]] = field(default_factory=list)  # (what, by whom)

    @property
    def open(self) -> bool:
        return self.status != "resolved"


@dataclass
class _Fault:
    kind: FaultKind
    remaining: int
    status: int
    retry_after: int | None
    body: dict[str, Any] | str | None
    headers: dict[str, str]


def signature(body: bytes, secret: str) -> str:
    """``v1=<hex HMAC-SHA256>``: what PagerDuty puts in ``X-PagerDuty-Signature``."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class PagerDutyStandin:
    """An aiohttp server on an ephemeral 127.0.0.1 port answering like events.pagerduty.com."""

    def __init__(self, *, routing_keys: tuple[str, ...] = (ROUTING_KEY,)) -> None:
        self.routing_key = routing_keys[0]
        self.routing_keys = set(routing_keys)
        self.events: list[Event] = []
        self.incidents: list[Incident] = []
        self._faults: deque[_Fault] = deque()
        self._numbers = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._base = ""

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> PagerDutyStandin:
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._enqueue)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._base = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """The Events API endpoint, for ``PagerDutyChannel(url=...)``."""
        return f"{self._base}/v2/enqueue"

    # -- fault injection ---------------------------------------------------------------------

    def fail_next(
        self,
        times: int = 1,
        status: int = 429,
        *,
        retry_after: int | None = None,
        kind: FaultKind = "status",
    ) -> None:
        """The next ``times`` requests answer ``status`` (429 with PagerDuty's throttle
        body, else a 5xx error body), with ``Retry-After`` if given; ``kind="disconnect"``
        drops the connection instead. Failed requests change no incident."""
        body: dict[str, Any] = (
            _THROTTLED if status == 429 else {"status": "error", "message": "Internal error"}
        )
        self._faults.append(_Fault(kind, times, status, retry_after, body, {}))

    def respond_next(
        self,
        status: int,
        body: dict[str, Any] | str,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` requests get this exact answer (and change nothing)."""
        self._faults.append(_Fault("status", times, status, None, body, headers or {}))

    # -- reading state -----------------------------------------------------------------------

    def incident(self, dedup_key: str) -> Incident | None:
        """The latest incident with this dedup key (a resolved one included)."""
        found = [i for i in self.incidents if i.dedup_key == dedup_key]
        return found[-1] if found else None

    def accepted(self, action: str | None = None) -> list[Event]:
        return [
            e for e in self.events if e.status == 202 and (action is None or e.action == action)
        ]

    # -- the UI side -------------------------------------------------------------------------

    def acknowledge_in_ui(self, dedup_key: str, by: str = "Maya Lin") -> bytes:
        """A person acknowledges in PagerDuty; returns the v3 webhook body about it."""
        incident = self._open(dedup_key)
        incident.status = "acknowledged"
        incident.log.append(("acknowledged", by))
        return self.webhook_body(incident, "incident.acknowledged", by=by)

    def resolve_in_ui(self, dedup_key: str, by: str = "Maya Lin") -> bytes:
        incident = self._open(dedup_key)
        incident.status = "resolved"
        incident.log.append(("resolved", by))
        return self.webhook_body(incident, "incident.resolved", by=by)

    def webhook_body(
        self, incident: Incident, event_type: str, *, by: str | None = "Maya Lin"
    ) -> bytes:
        """A v3 webhook body as PagerDuty sends it (the fields of its documented example)."""
        agent = (
            {
                "html_url": "https://acme.pagerduty.com/users/PUSER01",
                "id": "PUSER01",
                "self": "https://api.pagerduty.com/users/PUSER01",
                "summary": by,
                "type": "user_reference",
            }
            if by is not None
            else None
        )
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body = {
            "event": {
                "id": f"01E{next(self._numbers):020d}",
                "event_type": event_type,
                "resource_type": "incident",
                "occurred_at": now,
                "agent": agent,
                "client": None,
                "data": {
                    "id": incident.id,
                    "type": "incident",
                    "self": f"https://api.pagerduty.com/incidents/{incident.id}",
                    "html_url": f"https://acme.pagerduty.com/incidents/{incident.id}",
                    "number": incident.number,
                    "status": incident.status,
                    "incident_key": incident.dedup_key,
                    "created_at": now,
                    "title": incident.summary,
                    "service": {
                        "html_url": "https://acme.pagerduty.com/services/PSVC01",
                        "id": "PSVC01",
                        "self": "https://api.pagerduty.com/services/PSVC01",
                        "summary": "ML serving",
                        "type": "service_reference",
                    },
                    "urgency": "high",
                    "conference_bridge": None,
                    "resolve_reason": None,
                },
            }
        }
        return json.dumps(body).encode()

    def _open(self, dedup_key: str) -> Incident:
        incident = self.incident(dedup_key)
        if incident is None or not incident.open:
            raise LookupError(f"no open PagerDuty incident {dedup_key}")
        return incident

    # -- HTTP --------------------------------------------------------------------------------

    async def _enqueue(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else None
        fault = self._take_fault()
        if fault is not None:
            return self._fault_answer(request, fault, body, raw)
        if body is None:
            return self._answer(400, _invalid(["Event object is not valid JSON"]), body, raw)
        errors = self._validate(body)
        if errors:
            return self._answer(400, _invalid(errors), body, raw)
        key = self._apply(body)
        answer = {"status": "success", "message": "Event processed", "dedup_key": key}
        return self._answer(202, answer, body, raw)

    def _take_fault(self) -> _Fault | None:
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            self._faults.popleft()
        return fault

    def _fault_answer(
        self, request: web.Request, fault: _Fault, body: dict[str, Any] | None, raw: bytes
    ) -> web.StreamResponse:
        if fault.kind == "disconnect":
            self.events.append(Event(body, raw, 0, "disconnected", time.monotonic()))
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError  # aiohttp drops the connection without a response
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        return self._answer(fault.status, fault.body or "", body, raw, headers)

    def _answer(
        self,
        status: int,
        answer: dict[str, Any] | str,
        body: dict[str, Any] | None,
        raw: bytes,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        self.events.append(Event(body, raw, status, answer, time.monotonic()))
        if isinstance(answer, str):
            return web.Response(status=status, text=answer, headers=headers)
        return web.json_response(answer, status=status, headers=headers)

    def _validate(self, body: dict[str, Any]) -> list[str]:
        errors: list[str] = []
        key = body.get("routing_key")
        if not isinstance(key, str) or not key:
            errors.append("'routing_key' is missing or blank")
        elif len(key) != 32:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        elif key not in self.routing_keys:
            errors.append("Invalid routing key")
        action = body.get("event_action")
        if action not in ACTIONS:
            errors.append("'event_action' is missing or invalid")
        dedup = body.get("dedup_key")
        if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
            errors.append("'dedup_key' must be a string of at most 255 characters")
        if action in ("acknowledge", "resolve") and not dedup:
            errors.append("'dedup_key' is missing or blank")
        if action == "trigger":
            errors.extend(_validate_payload(body.get("payload")))
            links = body.get("links", [])
            if not isinstance(links, list) or not all(
                isinstance(link, dict) and isinstance(link.get("href"), str) for link in links
            ):
                errors.append("'links' must be a list of objects with 'href'")
        return errors

    def _apply(self, body: dict[str, Any]) -> str:
        """Change the incidents as PagerDuty would; returns the dedup key."""
        action = body["event_action"]
        key = body.get("dedup_key") or hashlib.sha256(json.dumps(body).encode()).hexdigest()[:32]
        current = self.incident(key)
        if action == "trigger":
            if current is not None and current.open:
                current.alerts += 1
                current.log.append(("trigger folded", "events api"))
            else:
                payload = body["payload"]
                number = next(self._numbers)
                self.incidents.append(
                    Incident(
                        id=f"Q{number:013d}",
                        number=number,
                        dedup_key=key,
                        summary=payload["summary"][:1024],
                        severity=payload["severity"],
                        source=payload["source"],
                        custom_details=dict(payload.get("custom_details") or {}),
                        links=list(body.get("links") or []),
                        log=[("triggered", "events api")],
                    )
                )
        elif current is not None and current.open:
            if action == "acknowledge" and current.status == "triggered":
                current.status = "acknowledged"
                current.log.append(("acknowledged", "events api"))
            elif action == "resolve":
                current.status = "resolved"
                current.log.append(("resolved", "events api"))
        return str(key)


def _invalid(errors: list[str]) -> dict[str, Any]:
    return {"status": "invalid event", "message": "Event object is invalid", "errors": errors}


def _validate_payload(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or blank"]
    errors = [
        f"'payload.{name}' is missing or blank"
        for name in ("summary", "source")
        if not isinstance(payload.get(name), str) or not payload[name].strip()
    ]
    if payload.get("severity") not in SEVERITIES:
        errors.append(
            "'payload.severity' is missing or invalid (must be one of critical, error, "
            "warning, info)"
        )
    return errors
