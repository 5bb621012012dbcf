"""One JSON request to an orchestrator, its failures in words that carry no secret.

A 5xx, 429, 408 or a network failure is retryable; another 4xx is not (the request is
wrong and would be refused again). The message names the method, the endpoint without
credentials or query, and the status, never the body: an orchestrator's error page may
echo headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from bot.playbooks.actions.http import safe_url
from bot.retrain.adapters.base import OrchestratorError

TIMEOUT = aiohttp.ClientTimeout(total=30)
RETRYABLE = frozenset({408, 425, 429})


async def call(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    params: Mapping[str, str] | None = None,
    ok: tuple[int, ...] = (200, 201),
) -> tuple[int, Any]:
    """``(status, decoded JSON or None)`` for a status in ``ok``; OrchestratorError else."""
    shown = f"{method} {safe_url(url)}"
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.request(
                method, url, headers=dict(headers or {}), json=json, params=params
            ) as resp,
        ):
            status = resp.status
            body = await resp.json(content_type=None) if status in ok and status != 204 else None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise OrchestratorError(f"{shown} failed: {type(exc).__name__}", retryable=True) from None
    except ValueError:
        raise OrchestratorError(f"{shown} answered {status} with no JSON", retryable=True) from None
    if status in ok:
        return status, body
    retry = status >= 500 or status in RETRYABLE
    raise OrchestratorError(f"{shown} answered {status}", retryable=retry)


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}
