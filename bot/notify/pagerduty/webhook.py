"""PagerDuty → Vigil: verify and read a v3 webhook, so an acknowledgement in PagerDuty
acknowledges our incident too. Pure: bytes in, a small value out.

Signature: PagerDuty signs the raw body with each active secret of the subscription and
sends ``X-PagerDuty-Signature: v1=<hex HMAC-SHA256>[,v1=<hex>...]`` (several while a
secret is being rotated); the request is genuine if any one matches. Verify before parsing,
on the bytes as received (a re-serialised body would not match).

Body (only the fields we read)::

    {"event": {"id": "01DEN...", "event_type": "incident.acknowledged",
               "resource_type": "incident", "occurred_at": "2026-11-24T02:03:04.123Z",
               "agent": {"type": "user_reference", "summary": "Maya Lin", ...} | null,
               "data": {"id": "Q2KURS8RXYZ123", "type": "incident",
                        "incident_key": "vigil:12", "html_url": "...", ...}}}

Mapping back to our incident (an assumption, stated here so it can be checked against a
real account): an incident that PagerDuty created from an Events API v2 trigger carries the
trigger's ``dedup_key`` as ``data.incident_key``, and our triggers send our incident key
(:func:`bot.notify.base.incident_key`), so :meth:`PagerDutyAck.incident_id` parses it
back. When ``incident_key`` is missing or null (an incident opened by hand in PagerDuty, or
another tool's), we keep PagerDuty's own ``data.id`` so the caller can log it, and
``incident_id()`` is None: nothing to mirror.

Only ``incident.acknowledged`` and ``incident.resolved`` are mirrored; every other event
type (triggered, unacknowledged, escalated, annotated, ``pagey.ping`` …) parses to None,
and the endpoint should answer 2xx so PagerDuty does not redeliver. PagerDuty also reports
the acknowledgements Vigil itself sent through the Events API; ``by_person`` is False for
those (the agent is not a user), and mirroring them anyway is harmless because acknowledging
an acknowledged incident changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from bot.core.errors import ValidationError
from bot.core.secret import Secret
from bot.ingest.json_body import decode_json
from bot.notify.base import DEFAULT_KEY_PREFIX, parse_incident_key

SIGNATURE_HEADER = "X-PagerDuty-Signature"
Action = Literal["acknowledged", "resolved"]
MIRRORED: dict[str, Action] = {
    "incident.acknowledged": "acknowledged",
    "incident.resolved": "resolved",
}


def sign(secret: Secret, body: bytes) -> str:
    """``v1=<hex>``: PagerDuty's signature of ``body`` (for tests and stand-ins)."""
    digest = hmac.new(secret.reveal().encode(), body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify_signature(body: bytes, header: str | None, secrets: Secret | Sequence[Secret]) -> bool:
    """True if any ``v1=`` signature in ``header`` matches ``body`` under any of ``secrets``.

    Several secrets on our side too, so Vigil can accept old and new during its own rotation.
    Every candidate is compared in constant time; signatures of other schemes are ignored.
    """
    if not header:
        return False
    keys = [secrets] if isinstance(secrets, Secret) else list(secrets)
    given = [
        part.strip()[3:].lower()
        for part in header.split(",")
        if part.strip().lower().startswith("v1=")
    ]
    matched = False
    for key in keys:
        expected = sign(key, body)[3:]
        for candidate in given:
            matched |= hmac.compare_digest(
                expected.encode(), candidate.encode("utf-8", "surrogatepass")
            )
    return matched


@dataclass(frozen=True)
class PagerDutyAck:
    """Someone (or something) in PagerDuty acknowledged or resolved an incident."""

    action: Action
    pd_incident_id: str
    incident_key: str | None
    by: str
    by_person: bool
    at: datetime
    event_id: str
    pd_url: str | None = None

    def incident_id(self, prefix: str = DEFAULT_KEY_PREFIX) -> int | None:
        """Our incident id, when PagerDuty's incident came from one of our triggers."""
        return parse_incident_key(self.incident_key, prefix)


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(field, "must be a JSON object")
    return value


def _text(obj: Mapping[str, Any], key: str, field: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must be a non-empty string")
    return value


def _when(obj: Mapping[str, Any], key: str, field: str) -> datetime:
    text = _text(obj, key, field)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(field, f"not an ISO 8601 time: {text[:40]!r}") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> PagerDutyAck | None:
    """Read a v3 webhook body; None for event types we do not mirror.

    Raises :class:`~bot.core.errors.ValidationError` naming the field (``event.data.id``) when a
    body we would mirror is malformed; the endpoint answers 400 with it.
    """
    if isinstance(body, bytes | str):
        raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        try:
            data: Any = decode_json(raw)  # NUL, lone surrogates, huge numbers: named
        except UnicodeDecodeError:
            raise ValidationError("body", "not UTF-8") from None
        except (ValueError, RecursionError) as exc:
            raise ValidationError("body", f"not JSON ({exc})") from None
    else:
        data = body
    root = _object(data, "body")
    if "event" not in root:
        hint = " (this looks like a v2 webhook; subscribe a v3 one)" if "messages" in root else ""
        raise ValidationError("event", f"missing{hint}")
    event = _object(root["event"], "event")
    event_type = _text(event, "event_type", "event.event_type")
    action = MIRRORED.get(event_type)
    if action is None:
        return None
    event_id = _text(event, "id", "event.id")
    at = _when(event, "occurred_at", "event.occurred_at")
    incident = _object(event.get("data"), "event.data")
    kind = incident.get("type")
    if kind is not None and kind != "incident":
        raise ValidationError("event.data.type", f"expected 'incident', got {str(kind)[:40]!r}")
    pd_id = _text(incident, "id", "event.data.id")
    key = incident.get("incident_key")
    if key is not None and not isinstance(key, str):
        raise ValidationError("event.data.incident_key", "must be a string or null")
    raw_agent = event.get("agent")  # null when PagerDuty itself acted (auto-resolve)
    agent = _object(raw_agent, "event.agent") if raw_agent is not None else {}
    summary = agent.get("summary")
    url = incident.get("html_url")
    return PagerDutyAck(
        action=action,
        pd_incident_id=pd_id,
        incident_key=key or None,
        by=str(summary) if summary else "PagerDuty",
        by_person=agent.get("type") == "user_reference",
        at=at,
        event_id=event_id,
        pd_url=url if isinstance(url, str) else None,
    )
