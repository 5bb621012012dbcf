"""``auto_resolve:`` as people write it, and each mistake named with its key."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from bot.core.errors import ConfigError
from bot.incidents.quiet import DEFAULTS, parse_auto_resolve

MIN = timedelta(minutes=1)


def parsed(text: str) -> dict[str, timedelta | None]:
    return dict(parse_auto_resolve(yaml.safe_load(text), "vigil.yaml"))


def test_the_default_waits_five_quiet_minutes_for_every_severity() -> None:
    assert dict(parse_auto_resolve(None, "vigil.yaml")) == dict(DEFAULTS)
    assert set(DEFAULTS.values()) == {5 * MIN}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10m", {"P1": 10 * MIN, "P2": 10 * MIN, "P3": 10 * MIN, "P4": 10 * MIN}),
        ("off", {"P1": None, "P2": None, "P3": None, "P4": None}),  # YAML reads it as False
        ('"off"', {"P1": None, "P2": None, "P3": None, "P4": None}),
        ("{P1: off, P3: 30m}", {"P1": None, "P2": 5 * MIN, "P3": 30 * MIN, "P4": 5 * MIN}),
    ],
)
def test_one_period_off_or_one_per_severity(text: str, expected: dict[str, object]) -> None:
    assert parsed(text) == expected


@pytest.mark.parametrize(
    ("text", "key", "says"),
    [
        ("{P5: 5m}", "auto_resolve", "'P5' is not a severity"),
        ("{P1: 5}", "auto_resolve.P1", "write it with a unit"),
        ("0s", "auto_resolve", "longer than 0s, or off"),
        ("soon", "auto_resolve", "or off"),
    ],
)
def test_mistakes_name_the_key(text: str, key: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parsed(text)
    assert caught.value.key == key
    assert says in str(caught.value)
