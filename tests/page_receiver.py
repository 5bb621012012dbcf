"""The far end of Vigil's signed outgoing webhook, for tests that run real processes: it
counts authentic pages per person and notes when each arrived, on its own clock."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from aiohttp import web

from bot.core.secret import Secret
from bot.notify.webhook import verify_signature

SECRET = "replica-webhook-secret"


class Receiver:
    """The webhook's far end: counts authentic pages per person."""

    def __init__(self) -> None:
        self.pages: Counter[str] = Counter()
        self.by_incident: Counter[tuple[int, str]] = Counter()  # (incident id, person)
        self.arrived: dict[str, datetime] = {}  # first page of each person, receiver's clock
        self.changed = asyncio.Event()
        self.url = ""

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        ok = verify_signature(
            Secret(SECRET),
            request.headers.get("X-Vigil-Timestamp", ""),
            body,
            request.headers.get("X-Vigil-Signature", ""),
            now=datetime.now(UTC),  # the receiver's own clock, as a real one would
        )
        if not ok:
            return web.json_response({"error": "bad signature"}, status=401)
        data = await request.json()
        if data.get("event") == "page":
            self.pages[data["target"]] += 1
            self.by_incident[int(data["incident"]["id"]), data["target"]] += 1
            self.arrived.setdefault(data["target"], datetime.now(UTC))
            self.changed.set()
        return web.json_response({"ok": True})

    async def wait_for(self, person: str, within: float) -> None:
        async with asyncio.timeout(within):
            while not self.pages[person]:
                self.changed.clear()
                await self.changed.wait()


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hook", rec.hook)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    rec.url = f"http://{host}:{port}/hook"
    try:
        yield rec
    finally:
        await runner.cleanup()
