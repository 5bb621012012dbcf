"""Helpers shared by the tests: an injectable clock and payload builders."""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.chat.backend import RecordingBackend
from bot.oncall.settings import OncallSettings
from bot.runtime.app import Vigil

FIXTURES = Path(__file__).parent / "fixtures"


class FakeClock:
    """Time that moves only when a test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 24, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def fixture_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def am_payload(*alerts: dict[str, Any], status: str | None = None) -> dict[str, Any]:
    """An Alertmanager v4 webhook body built around the captured real one."""
    body = copy.deepcopy(fixture_json("alertmanager-v4-firing.json"))
    if alerts:
        body["alerts"] = list(alerts)
    body["status"] = status or (
        "firing" if any(a["status"] == "firing" for a in body["alerts"]) else "resolved"
    )
    return body


def am_alert(
    labels: dict[str, str],
    *,
    status: str = "firing",
    annotations: dict[str, str] | None = None,
    starts_at: str = "2026-11-24T01:59:00Z",
    ends_at: str = "0001-01-01T00:00:00Z",
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": labels,
        "annotations": annotations or {},
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://127.0.0.1:9090/graph",
    }


async def paged_vigil(
    make_vigil: Callable[..., Awaitable[Vigil]], oncall: OncallSettings, **over: Any
) -> tuple[Vigil, RecordingBackend]:
    """A Vigil with this escalation and a recording chat that hears announcements and
    pages; ``over`` replaces other settings fields."""
    vigil = await make_vigil(oncall=oncall, **over)
    chat = RecordingBackend()
    vigil.attach(chat)
    return vigil, chat
