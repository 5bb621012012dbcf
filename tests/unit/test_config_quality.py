"""The ``quality:`` section: windows by rows or time, and errors that name the key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.errors import ConfigError
from bot.monitoring.settings import QualitySettings, parse_quality
from bot.quality.windows import WindowSpec


def test_defaults_are_a_thousand_row_window_judged_from_200_rows() -> None:
    assert parse_quality(None, "vigil.yaml") == QualitySettings(
        window=WindowSpec(rows=1_000), min_rows=200, label_horizon=100_000, label_window=5_000
    )


def test_a_time_window_and_custom_limits() -> None:
    got = parse_quality(
        {
            "window": {"duration": "30m"},
            "min_rows": 500,
            "label_horizon": 2_000,
            "label_window": 1_000,
        },
        "vigil.yaml",
    )
    assert got.window == WindowSpec(duration=timedelta(minutes=30))
    assert (got.min_rows, got.label_horizon, got.label_window) == (500, 2_000, 1_000)


@pytest.mark.parametrize(
    ("raw", "key", "says"),
    [
        ([], "quality", "mapping"),
        ({"windw": {}}, "quality.windw", "unknown key (allowed: window, min_rows,"),
        (
            {"window": {"rowz": 1000}},
            "quality.window.rowz",
            "unknown key (allowed: rows, duration)",
        ),
        ({"window": 1000}, "quality.window", "{rows: 1000}"),
        ({"window": {}}, "quality.window", "exactly one"),
        ({"window": {"rows": 10, "duration": "5m"}}, "quality.window", "exactly one"),
        ({"window": {"rows": "many"}}, "quality.window.rows", "whole number"),
        ({"window": {"rows": 5}}, "quality.window.rows", "from 10"),
        ({"window": {"duration": 30}}, "quality.window.duration", "with a unit"),
        ({"window": {"duration": "0s"}}, "quality.window.duration", "positive"),
        ({"window": {"rows": 100}}, "quality.min_rows", "larger than the window"),
        ({"min_rows": True}, "quality.min_rows", "whole number"),
        ({"label_horizon": 0}, "quality.label_horizon", "from 1"),
        ({"label_window": 10}, "quality.label_window", "from 50"),
        ({"min_rows": 2000}, "quality.min_rows", "larger than the window (1000 rows)"),
    ],
)
def test_bad_settings_name_their_key(raw: object, key: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_quality(raw, "vigil.yaml")
    assert err.value.key == key
    assert says in str(err.value)


def test_the_minute_ledger_is_kept_a_day_unless_told() -> None:
    assert parse_quality(None, "vigil.yaml").ledger_keep == timedelta(hours=24)
    assert parse_quality({"ledger_keep": "36h"}, "vigil.yaml").ledger_keep == timedelta(hours=36)
    for raw, says in (("30m", "from 1h to 31d"), ("soon", "quality.ledger_keep")):
        with pytest.raises(ConfigError) as err:
            parse_quality({"ledger_keep": raw}, "vigil.yaml")
        assert "quality.ledger_keep" in str(err.value)
        assert says in str(err.value)
