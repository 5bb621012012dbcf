"""Channels from ``notify:`` settings, in the configured order, and their shutdown."""

from __future__ import annotations

from bot.notify.base import Channel
from bot.notify.email import EmailChannel
from bot.notify.http import OwnsPoster
from bot.notify.pagerduty.events import PagerDutyChannel
from bot.notify.settings import NotifySettings
from bot.notify.webhook import WebhookChannel


def build_channels(settings: NotifySettings) -> list[Channel]:
    """One channel per name in ``settings.order``; each owns its HTTP session (``close``)."""
    channels: list[Channel] = []
    for name in settings.order:
        if name == "pagerduty" and settings.pagerduty is not None:
            pd = settings.pagerduty
            channels.append(
                PagerDutyChannel(routing_key=pd.routing_key, url=pd.url, source=pd.source)
            )
        elif name == "email" and settings.email is not None:
            mail = settings.email
            channels.append(
                EmailChannel(
                    mail.host,
                    mail.port,
                    mail.sender,
                    addresses=mail.addresses,
                    username=mail.username,
                    password=mail.password,
                    starttls=mail.starttls,
                    implicit_tls=mail.implicit_tls,
                )
            )
        elif name == "webhook" and settings.webhook is not None:
            channels.append(WebhookChannel(settings.webhook.url, settings.webhook.secret))
    return channels


async def close_channels(channels: list[Channel]) -> None:
    """Release what the channels hold (HTTP sessions); e-mail holds nothing between sends."""
    for channel in channels:
        if isinstance(channel, OwnsPoster):
            await channel.aclose()
