"""A plain webhook (``retrain_url`` or ``retraining.M.webhook.url``): Vigil posts the run
and hands it off.

``POST url`` with ``{model, version, trigger, incident, reason, dedup_key}`` and the key in
an ``Idempotency-Key`` header (the convention of Stripe and the IETF draft), so a receiver
that keeps keys drops a repeat. A webhook has no state to read back: a 2xx hands the run
off (phase ``handed_off``, not in flight) and Vigil follows it no further, registers no
version by itself, and says so.
"""

from __future__ import annotations

from bot.playbooks.actions.http import safe_url
from bot.retrain.adapters.base import Observed, RunRequest
from bot.retrain.adapters.http import bearer, call
from bot.retrain.config import Orchestration


class WebhookOrchestrator:
    kind = "webhook"

    def __init__(self, spec: Orchestration) -> None:
        self._spec = spec

    def describe(self) -> str:
        return f"the training service at {safe_url(self._spec.url)}"

    async def submit(self, run: RunRequest) -> Observed:
        headers = {
            "Idempotency-Key": run.key,
            **bearer(self._spec.token.reveal() if self._spec.token else None),
        }
        body = {
            "model": run.model,
            "version": run.version,
            "trigger": run.trigger,
            "incident": run.incident_id,
            "reason": run.reason,
            "dedup_key": run.key,
        }
        status, _ = await call(
            "POST", self._spec.url, headers=headers, json=body, ok=(200, 201, 202, 204)
        )
        return Observed(f"accepted ({status})", "handed_off", run.key)

    async def observe(self, run: RunRequest, external_id: str | None) -> Observed:
        return Observed("accepted", "handed_off", external_id)
