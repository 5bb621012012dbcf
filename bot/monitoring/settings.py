"""The ``quality:`` section of vigil.yaml: how the model monitor windows production rows.

    quality:
      window: {rows: 1000}      # or {duration: 30m}: the rows of the last 30 minutes
      min_rows: 200             # fewest rows before drift and the estimate are judged
      label_horizon: 100000     # predictions remembered for the label join, per model
      label_window: 5000        # the last labelled rows realized accuracy is computed over
      ledger_keep: 24h          # how long each version's minute ledger is kept (database)

A row window judges the same amount of evidence whatever the traffic, which keeps the
false-alarm rate of the drift rules steady; a time window follows traffic (a quiet night
judges fewer rows, and below ``min_rows`` it judges nothing rather than noise).
``ledger_keep`` is how far back a canary judge can look: the minute ledger's rows older
than it are deleted (from 1 hour to 31 days).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, model_validator

from bot.config.model import ConfigModel, problem, validate_section
from bot.core.durations import parse_duration
from bot.core.errors import ValidationError
from bot.quality.spec import MIN_LABELS, MIN_ROWS, WindowSpec

DEFAULT_WINDOW = WindowSpec(rows=1_000)
DEFAULT_LEDGER_KEEP = timedelta(hours=24)  # bot.quality.compare.ledger.DEFAULT_KEEP, without numpy


@dataclass(frozen=True)
class QualitySettings:
    window: WindowSpec = field(default_factory=lambda: DEFAULT_WINDOW)
    min_rows: int = MIN_ROWS
    label_horizon: int = 100_000
    label_window: int = 5_000
    ledger_keep: timedelta = DEFAULT_LEDGER_KEEP


def _whole(low: int, high: int) -> BeforeValidator:
    """A whole number from ``low`` to ``high`` (``true`` is not 1 here)."""

    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise problem(f"must be a whole number from {low} to {high}, got {value!r}")
        return value

    return BeforeValidator(check)


def _duration(value: object) -> timedelta:
    try:
        duration = parse_duration(value)
        WindowSpec(duration=duration)
    except (ValueError, ValidationError) as exc:
        raise problem(str(exc)) from None
    return duration


def _keep(value: object) -> timedelta:
    try:
        keep = parse_duration(value)
    except ValueError as exc:
        raise problem(str(exc)) from None
    if not timedelta(hours=1) <= keep <= timedelta(days=31):
        raise problem(f"must be from 1h to 31d, got {value!r}")
    return keep


def _window_mapping(value: object) -> object:
    if not isinstance(value, dict):
        raise problem("must be a mapping: {rows: 1000} or {duration: 30m}")
    return value


class _Window(ConfigModel):
    """``quality.window``: ``{rows: N}`` or ``{duration: 30m}``, exactly one."""

    rows: Annotated[int | None, _whole(10, 10_000_000)] = None
    duration: Annotated[timedelta | None, BeforeValidator(_duration)] = None

    @model_validator(mode="after")
    def _exactly_one(self) -> _Window:
        if (self.rows is None) == (self.duration is None):
            raise problem("set exactly one of rows or duration")
        return self

    def spec(self) -> WindowSpec:
        return WindowSpec(rows=self.rows, duration=self.duration)


class QualitySection(ConfigModel):
    """``quality:`` as written; :meth:`settings` is what the monitor reads."""

    window: Annotated[_Window | None, BeforeValidator(_window_mapping)] = None
    min_rows: Annotated[int, _whole(10, 10_000_000)] = MIN_ROWS
    label_horizon: Annotated[int, _whole(1, 10_000_000)] = 100_000
    label_window: Annotated[int, _whole(MIN_LABELS, 1_000_000)] = 5_000
    ledger_keep: Annotated[timedelta, BeforeValidator(_keep)] = DEFAULT_LEDGER_KEEP

    @model_validator(mode="after")
    def _min_rows_fit_the_window(self) -> QualitySection:
        rows = (self.window.spec() if self.window is not None else DEFAULT_WINDOW).rows
        if rows is not None and self.min_rows > rows:
            raise problem(
                f"is larger than the window ({rows} rows): nothing would ever be judged",
                at=("min_rows",),
            )
        return self

    def settings(self) -> QualitySettings:
        return QualitySettings(
            window=self.window.spec() if self.window is not None else DEFAULT_WINDOW,
            min_rows=self.min_rows,
            label_horizon=self.label_horizon,
            label_window=self.label_window,
            ledger_keep=self.ledger_keep,
        )


def parse_quality(value: object, where: str) -> QualitySettings:
    """Validate ``quality:``; every error names its key (``quality.window.rows``)."""
    if value is None:
        return QualitySettings()
    return validate_section(QualitySection, value, where=where, key="quality").settings()
