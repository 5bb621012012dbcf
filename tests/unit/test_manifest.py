"""``slack-manifest.yaml`` creates an app that can do everything Vigil asks of Slack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "slack-manifest.yaml"


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return data


def test_every_command_and_interactivity_point_at_the_one_events_route() -> None:
    m = _manifest()
    commands = {c["command"]: c["url"] for c in m["features"]["slash_commands"]}
    assert set(commands) == {"/incident", "/rollback", "/rollout", "/silence"}
    urls = [*commands.values(), m["settings"]["interactivity"]["request_url"]]
    assert all(url.endswith("/slack/events") for url in urls)
    assert m["settings"]["interactivity"]["is_enabled"] is True


def test_scopes_cover_cards_pages_and_incident_channels() -> None:
    scopes = set(_manifest()["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "im:write", "channels:manage", "pins:write"} <= scopes
    assert "files:write" in scopes  # evidence charts in the incident thread
    # The look before a resend (a message Slack took just before a crash is not posted twice)
    assert {"channels:history", "groups:history", "im:history", "channels:read"} <= scopes
