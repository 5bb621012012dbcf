"""The ``quality:`` section of vigil.yaml: how the model monitor windows production rows.

    quality:
      window: {rows: 1000}      # or {duration: 30m}: the rows of the last 30 minutes
      min_rows: 200             # fewest rows before drift and the estimate are judged
      label_horizon: 100000     # predictions remembered for the label join, per model
      label_window: 5000        # the last labelled rows realized accuracy is computed over

A row window judges the same amount of evidence whatever the traffic, which keeps the
false-alarm rate of the drift rules steady; a time window follows traffic (a quiet night
judges fewer rows, and below ``min_rows`` it judges nothing rather than noise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.config_checks import known, mapping
from bot.durations import parse_duration
from bot.errors import ConfigError, ValidationError
from bot.quality.spec import MIN_LABELS, MIN_ROWS, WindowSpec

_KEYS = ("window", "min_rows", "label_horizon", "label_window")
DEFAULT_WINDOW = WindowSpec(rows=1_000)


@dataclass(frozen=True)
class QualitySettings:
    window: WindowSpec = field(default_factory=lambda: DEFAULT_WINDOW)
    min_rows: int = MIN_ROWS
    label_horizon: int = 100_000
    label_window: int = 5_000


def _whole(value: object, where: str, key: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(
            f"must be a whole number from {low} to {high}, got {value!r}", where=where, key=key
        )
    return value


def _window(value: object, where: str) -> WindowSpec:
    if not isinstance(value, dict):
        raise ConfigError(
            "must be a mapping: {rows: 1000} or {duration: 30m}", where=where, key="quality.window"
        )
    spec: dict[str, Any] = value
    known(spec, ("rows", "duration"), where, "quality.window")
    if ("rows" in spec) == ("duration" in spec):
        raise ConfigError("set exactly one of rows or duration", where=where, key="quality.window")
    if "rows" in spec:
        return WindowSpec(
            rows=_whole(spec["rows"], where, "quality.window.rows", low=10, high=10_000_000)
        )
    try:
        duration = parse_duration(spec["duration"])
        return WindowSpec(duration=duration)
    except (ValueError, ValidationError) as exc:
        raise ConfigError(str(exc), where=where, key="quality.window.duration") from None


def parse_quality(value: object, where: str) -> QualitySettings:
    """Validate ``quality:``; every error names its key (``quality.window.rows``)."""
    if value is None:
        return QualitySettings()
    value = mapping(value, where, "quality")
    known(value, _KEYS, where, "quality")
    window = _window(value["window"], where) if "window" in value else DEFAULT_WINDOW
    min_rows = _whole(
        value.get("min_rows", MIN_ROWS), where, "quality.min_rows", low=10, high=10_000_000
    )
    if window.rows is not None and min_rows > window.rows:
        raise ConfigError(
            f"is larger than the window ({window.rows} rows): nothing would ever be judged",
            where=where,
            key="quality.min_rows",
        )
    horizon = _whole(
        value.get("label_horizon", 100_000), where, "quality.label_horizon", low=1, high=10_000_000
    )
    label_window = _whole(
        value.get("label_window", 5_000),
        where,
        "quality.label_window",
        low=MIN_LABELS,
        high=1_000_000,
    )
    return QualitySettings(
        window=window, min_rows=min_rows, label_horizon=horizon, label_window=label_window
    )
