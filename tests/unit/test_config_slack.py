"""The ``slack:`` section: mistakes name their key, with or without the Slack tokens set."""

from __future__ import annotations

import pytest

from bot.chat.slack.settings import load_slack_settings
from bot.core.errors import ConfigError

TOKENS = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s3cret"}
PREFIX = (
    "must be 1 to 21 characters of a-z, 0-9, - and _, starting with a letter or digit "
    '(Slack channel names are lowercase), like "inc-"'
)


@pytest.mark.parametrize(
    ("section", "says"),
    [
        (
            {"chanels": {}},
            "slack.chanels: unknown key (allowed: alerts_channel, channels, "
            "incident_channel_prefix, incident_channels, responder_groups, users)",
        ),
        ({"alerts_channel": ""}, "slack.alerts_channel: must be a channel name like #incidents"),
        ({"channels": {"model:fraud": ""}}, "slack.channels.model:fraud: must be a channel name"),
        ({"users": []}, "slack.users: must be a mapping"),
        (
            {"responder_groups": {"leads": ["bob"]}},
            "slack.responder_groups.leads: must be a list of Slack user ids like U0123ABCD",
        ),
        ({"incident_channels": "yes"}, "slack.incident_channels: must be true or false"),
        ({"incident_channel_prefix": "INC-"}, f"slack.incident_channel_prefix: {PREFIX}"),
    ],
)
@pytest.mark.parametrize("env", [TOKENS, {}], ids=["tokens", "no-tokens"])
def test_mistakes_name_their_key(section: object, says: str, env: dict[str, str]) -> None:
    """Without SLACK_BOT_TOKEN Vigil uses the console, but `vigil check` on a laptop still
    finds the mistake that would stop start-up in production."""
    with pytest.raises(ConfigError) as caught:
        load_slack_settings(section, env, where="vigil.yaml")
    assert str(caught.value).startswith(f"vigil.yaml: {says}")


def test_a_full_section_is_read() -> None:
    settings = load_slack_settings(
        {
            "alerts_channel": " #ml-alerts ",
            "channels": {"model:fraud": "#fraud"},
            "users": {"@maya": "U0MAYA"},
            "responder_groups": {"leads": ["U0MAYA"]},
            "incident_channels": True,
        },
        TOKENS,
        where="vigil.yaml",
    )
    assert settings is not None
    assert settings.alerts_channel == "#ml-alerts"
    assert settings.channel_for(service=None, model="fraud") == "#fraud"
    assert settings.user_id("@maya") == "U0MAYA"
    assert settings.responder_groups == {"leads": frozenset({"U0MAYA"})}
    assert settings.incident_channel_prefix == "inc-"
    assert load_slack_settings({"alerts_channel": "#x"}, {}, where="vigil.yaml") is None
