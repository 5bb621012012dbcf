"""What a model's window is and when it is judged: the settings ``vigil.yaml``'s
``quality:`` section sets. Pure and without numpy, so reading the configuration stays light;
the windows themselves are :mod:`bot.quality.windows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.core.errors import ValidationError

MIN_ROWS = 200
"""Fewest accepted rows in a window before drift and the accuracy estimate are judged."""

MIN_LABELS = 50
"""Fewest labelled rows before realized accuracy is reported."""


@dataclass(frozen=True)
class WindowSpec:
    """Exactly one of: the last ``rows`` rows, or what arrived in the last ``duration``."""

    rows: int | None = None
    duration: timedelta | None = None

    def __post_init__(self) -> None:
        if (self.rows is None) == (self.duration is None):
            raise ValidationError("window", "set exactly one of rows or duration")
        if self.rows is not None and self.rows < 1:
            raise ValidationError("window.rows", f"must be at least 1, got {self.rows}")
        if self.duration is not None and self.duration <= timedelta(0):
            raise ValidationError("window.duration", "must be positive")

    def describe(self) -> str:
        return f"last {self.rows} rows" if self.rows is not None else f"last {self.duration}"
