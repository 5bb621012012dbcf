"""``http.post``: call an endpoint, e.g. the retraining service, and check its status.

The URL and headers come from the step's parameters (filled from config through
placeholders). Messages show the URL without credentials or query string, never headers or
the response body, so a token in any of them cannot reach the timeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bot.core.errors import ValidationError
from bot.core.secret import Secret
from bot.playbooks.actions.base import RunContext, StepOutcome, need_text

DEFAULT_EXPECT = (200, 201, 202, 204)


def safe_url(url: str) -> str:
    """``scheme://host[:port]/path``: what a person needs to know which endpoint it was."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _expected(raw: Any) -> tuple[int, ...]:
    values = raw if isinstance(raw, list) else [raw]
    try:
        return tuple(int(v) for v in values)
    except (TypeError, ValueError):
        raise ValidationError("params.expect", "must be a status code or a list of them") from None


def _headers(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValidationError("params.headers", "must be a mapping of header names to values")
    return {str(k): v.reveal() if isinstance(v, Secret) else str(v) for k, v in raw.items()}


async def http_post(ctx: RunContext, params: Mapping[str, Any]) -> StepOutcome:
    """POST ``json`` to ``url``; ok when the status is one of ``expect`` (default 2xx)."""
    url = need_text(params, "url")
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise ValidationError("params.url", f"must be an http(s) URL, got {safe_url(url)!r}")
    expect = _expected(params["expect"]) if "expect" in params else DEFAULT_EXPECT
    timeout_s = float(params.get("timeout") or ctx.timeout_s)
    shown = safe_url(url)
    if ctx.dry_run:
        return StepOutcome(True, f"Dry run: would POST to {shown}", {"url": shown})
    import aiohttp  # here: loading (or checking) a playbook loads no HTTP client

    timeout = aiohttp.ClientTimeout(total=timeout_s)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(
                url, json=params.get("json"), headers=_headers(params.get("headers"))
            ) as r,
        ):
            status = r.status
    except aiohttp.ClientError as exc:
        return StepOutcome(False, f"POST to {shown} failed: {type(exc).__name__}", {"url": shown})
    data = {"url": shown, "status": status}
    wanted = " or ".join(str(s) for s in expect)
    if status not in expect:
        return StepOutcome(False, f"POST to {shown} returned {status}, expected {wanted}", data)
    return StepOutcome(True, f"POST to {shown} returned {status}", data)
