"""The ``notify:`` section: each mistake names its key in the words it always had."""

from __future__ import annotations

import pytest

from bot.core.errors import ConfigError
from bot.notify.settings import parse_notify

ENV = {"VIGIL_PAGERDUTY_ROUTING_KEY": "a" * 32, "VIGIL_WEBHOOK_SECRET": "s" * 20}
EMAIL = {"host": "smtp.internal", "sender": "vigil@example.com"}


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ({"ordr": []}, "notify.ordr: unknown key (allowed: order, pagerduty, email, webhook,"),
        ({"order": None}, "notify.order: must be a list of channels (pagerduty, email, webhook)"),
        ({"order": ["sms"]}, "notify.order[0]: 'sms' is not a channel"),
        ({"order": ["pagerduty", "pagerduty"]}, "notify.order[0]: 'pagerduty' is listed twice"),
        ({"order": ["email"]}, "notify.order[0]: 'email' is in the order but has no `notify."),
        ({"email": {**EMAIL, "port": True}}, "notify.email.port: must be a port number"),
        ({"email": {"host": "smtp.internal"}}, "notify.email.sender: must be a non-empty string"),
        (
            {"email": {**EMAIL, "addresses": {"@maya": ""}}},
            "notify.email.addresses.@maya: must be a non-empty string",
        ),
        ({"email": {**EMAIL, "starttls": "yes"}}, "notify.email.starttls: must be true or false"),
        ({"webhook": {"url": "hooks"}}, "notify.webhook.url: must be an http:// or https:// URL"),
        ({"pagerduty": {"sorce": "x"}}, "notify.pagerduty.sorce: unknown key (allowed: url,"),
        ({"key_prefix": " "}, "notify.key_prefix: must be a non-empty string"),
    ],
)
def test_mistakes_name_their_key(section: object, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_notify(section, ENV, "vigil.yaml")
    assert str(caught.value).startswith(f"vigil.yaml: {says}")


def test_a_channel_left_out_of_the_order_is_not_checked_yet() -> None:
    """A half-written e-mail section kept for later does not stop the bot from starting."""
    settings = parse_notify({"order": ["pagerduty"], "email": {"hots": 1}}, ENV, "vigil.yaml")
    assert settings.order == ("pagerduty",)
    assert settings.email is None


def test_a_full_section_is_read() -> None:
    settings = parse_notify(
        {"order": ["webhook", "email"], "webhook": {"url": " https://hooks/v "}, "email": EMAIL},
        ENV,
        "vigil.yaml",
    )
    assert settings.order == ("webhook", "email")
    assert settings.webhook is not None
    assert settings.webhook.url == "https://hooks/v"
    assert settings.email is not None
    assert (settings.email.host, settings.email.port, settings.email.starttls) == (
        "smtp.internal",
        587,
        True,
    )
