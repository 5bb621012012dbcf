"""Snooze conditions name a metric Vigil receives: the README's short names resolve, and the
pairs the README lists are the aliases the code holds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.errors import ValidationError
from bot.oncall.snooze.metrics import ALIASES, named_in_full

README = Path(__file__).resolve().parents[2] / "README.md"
KNOWN = {"input_drift_psi", "error_rate", "accuracy", "psi_custom"}


@pytest.mark.parametrize(
    ("request_text", "stored"),
    [
        ("12 until psi<0.1 for 30m", "12 until input_drift_psi<0.1 for 30m"),
        (
            '12 2h until psi{feature="income"}<0.1',
            '12 2h until input_drift_psi{feature="income"}<0.1',
        ),
        ("12 until psi >= 0.1", "12 until input_drift_psi >= 0.1"),
        ("12 until errors&lt;=0.01 for 10m", "12 until error_rate&lt;=0.01 for 10m"),
        ("12 until psi_custom<0.1", "12 until psi_custom<0.1"),  # a name it knows wins
        ("12 30m", "12 30m"),  # no condition: nothing to name
    ],
)
def test_short_names_are_stored_in_full(request_text: str, stored: str) -> None:
    assert named_in_full(request_text, KNOWN) == stored


def test_an_unknown_metric_names_the_known_ones() -> None:
    with pytest.raises(ValidationError) as caught:
        named_in_full("12 until kl<0.1", KNOWN)  # an alias of a metric not received here
    assert caught.value.field == "snooze.metric"
    assert "No metric named 'kl' reaches Vigil" in caught.value.detail
    assert "Metrics it knows: accuracy, error_rate, input_drift_psi, psi_custom." in (
        caught.value.detail
    )


def test_without_a_list_anything_goes() -> None:
    assert named_in_full("12 until whatever<1", ()) == "12 until whatever<1"


def test_the_readme_lists_the_aliases_the_code_holds() -> None:
    text = " ".join(README.read_text().split())
    found = re.search(r"the short names (.+?) stand for (.+?), and the confirmation", text)
    assert found is not None
    shorts = re.findall(r"`([a-z0-9_]+)`", found.group(1))
    longs = re.findall(r"`([a-z0-9_]+)`", found.group(2))
    assert len(shorts) == len(longs) > 0
    assert {s: ALIASES[s] for s in shorts} == dict(zip(shorts, longs, strict=True))
