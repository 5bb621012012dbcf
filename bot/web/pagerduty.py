"""``POST /api/v1/pagerduty/webhook``: an acknowledgement or resolution made in PagerDuty,
mirrored onto the Vigil incident it pages for.

Signed with the subscription's secret (PagerDuty webhooks v3) and checked before anything
is read; installed only when a webhook secret is configured.
"""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.core.errors import NotFoundError, StorageError, TransitionError, ValidationError
from bot.core.secret import Secret
from bot.incidents.service import IncidentService
from bot.notify.pagerduty.webhook import parse_webhook, verify_signature
from bot.web.replies import error, not_stored

log = logging.getLogger(__name__)


class PagerDutyRoutes:
    """The webhook handler, bound to the incident service and the webhook secrets."""

    def __init__(
        self, incidents: IncidentService, *, secrets: tuple[Secret, ...], key_prefix: str
    ) -> None:
        self._incidents = incidents
        self._pd_secrets = secrets
        self._key_prefix = key_prefix

    def install(self, app: web.Application) -> None:
        app.router.add_post("/api/v1/pagerduty/webhook", self.pagerduty_webhook)

    async def pagerduty_webhook(self, request: web.Request) -> web.Response:
        """``POST /api/v1/pagerduty/webhook``: an acknowledgement or resolution made in
        PagerDuty, mirrored onto our incident (PagerDuty webhooks v3, signed with the
        subscription's secret). Answered 2xx whenever the body was authentic, even when there
        is nothing to do (not ours, already acknowledged), so PagerDuty does not retry it."""
        raw = await request.read()
        if not verify_signature(
            raw, request.headers.get("X-PagerDuty-Signature"), self._pd_secrets
        ):
            return error(
                401,
                "unauthorized",
                "X-PagerDuty-Signature",
                "the signature does not match the webhook secret (VIGIL_PAGERDUTY_WEBHOOK_SECRET)",
            )
        try:
            ack = parse_webhook(raw)
        except ValidationError as exc:
            return error(400, "invalid", exc.field, exc.detail)
        if ack is None:
            return web.json_response({"status": "ignored", "why": "event type not mirrored"})
        incident_id = ack.incident_id(self._key_prefix)
        if incident_id is None:
            return web.json_response({"status": "ignored", "why": "not a Vigil incident"})
        actor = f"{ack.by} (PagerDuty)"
        try:
            if ack.action == "acknowledged":
                view = await self._incidents.acknowledge(incident_id, actor=actor)
            else:
                view = await self._incidents.resolve(incident_id, actor=actor)
        except NotFoundError:
            return web.json_response({"status": "ignored", "why": f"no incident #{incident_id}"})
        except TransitionError as exc:
            return web.json_response({"status": "unchanged", "why": exc.message})
        except (StorageError, SQLAlchemyError, OSError) as exc:
            log.exception("could not mirror PagerDuty's %s of #%d", ack.action, incident_id)
            return not_stored(
                exc,
                f"could not record that incident #{incident_id} was {ack.action} in PagerDuty; "
                "nothing was changed, retry (PagerDuty redelivers a failed webhook)",
            )
        return web.json_response({"status": "ok", "incident": view.id, "state": view.state})
