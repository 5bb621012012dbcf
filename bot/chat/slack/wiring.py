"""Assembles the Slack parts (Web API client, Bolt front, outbox feed and worker, backend).

Called by the composition root only when ``SLACK_BOT_TOKEN`` is set; kept here so that
``bot.runtime.app`` does not grow a Slack section.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.commands.run import CommandRunner
from bot.chat.slack.backend import SlackBackend
from bot.chat.slack.front import SlackFront
from bot.chat.slack.identity import BotIdentity
from bot.chat.slack.notices import NoticeQueue
from bot.chat.slack.outbound.deliver import SlackDeliverer
from bot.chat.slack.settings import SlackSettings
from bot.core.clock import Clock
from bot.incidents.service import IncidentService
from bot.outbox.feed import install_feed
from bot.outbox.worker import OutboxWorker
from bot.registry.base import ModelRegistry
from bot.store.db import Database

WEB_API_TIMEOUT_S = 10
"""Seconds a Web API call may take (slack_sdk's default is 30). A call to a Slack that went
silent holds its incident's queue for this long, so it bounds, with the outbox's 10 s
backoff cap, how soon the queue drains after Slack answers again (within 30 s)."""


@dataclass(frozen=True)
class SlackParts:
    client: AsyncWebClient
    front: SlackFront
    backend: SlackBackend
    outbox: OutboxWorker


def build_slack(
    settings: SlackSettings,
    *,
    db: Database,
    commands: CommandRunner,
    incidents: IncidentService,
    registry: ModelRegistry,
    clock: Clock,
) -> SlackParts:
    client = AsyncWebClient(
        token=settings.bot_token.reveal(), base_url=settings.api_url, timeout=WEB_API_TIMEOUT_S
    )
    identity = BotIdentity(client)
    deliverer = SlackDeliverer(
        db,
        client,
        settings,
        incidents=incidents,
        registry=registry,
        clock=clock,
        identity=identity,
    )
    outbox = OutboxWorker(db, deliverer, clock=clock)
    install_feed(db, on_commit=outbox.wake)  # from now on every timeline entry is queued
    front = SlackFront(
        settings,
        client,
        commands=commands,
        incidents=incidents,
        registry=registry,
        identity=identity,
    )
    notices = NoticeQueue(db, clock=clock, wake=outbox.wake)
    return SlackParts(client, front, SlackBackend(front, notices), outbox)
