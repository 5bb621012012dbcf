"""The labels joined to a slice of predictions, counted so that slices add.

A :class:`LabelTally` is the label part of a pane's sketch (``bot.quality.sketch``): per
(true label, predicted class, label source, confidence bin, delay bin), how many labels
joined and the sum of their predictions' confidence. Everything label health reads (delay
quantiles, agreement per source, the label mix, the noise estimate, the estimate's gap on the
labelled rows) is a sum over these keys, so merging two tallies is adding them, in any
order, whichever replica joined the labels.

The bins are fixed here, not taken from the reference: a tally means the same under every
reference. Delay edges are log-spaced, four to a decade from one second to about eleven days
(each bin spans a factor of 1.78: a quantile read from them is within that factor, and
interpolated log-linearly inside its bin). Confidence edges are finer at the top, where the
noise estimate reads (``bot.quality.labels.health``).

Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

DELAY_EDGES: tuple[float, ...] = tuple(float(10 ** (k / 4)) for k in range(25))
"""Seconds from a prediction's arrival to its label's: 1 s, 1.78 s, 3.16 s, … 10^6 s."""

CONF_EDGES: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
"""The prediction's confidence: bin 0 is below 0.5, bin 7 is 0.99 and above."""

NO_BIN = -1
"""No confidence (the prediction gave none) or no delay (the arrival was not recorded)."""

DEFAULT_SOURCE = "unspecified"
"""The source of a label posted without one."""


class LabelKey(NamedTuple):
    label: str
    predicted: str
    source: str
    conf_bin: int
    delay_bin: int


def delay_bin(seconds: float | None) -> int:
    """The delay's bin on :data:`DELAY_EDGES` (0: under a second), ``NO_BIN`` when unknown."""
    if seconds is None or not np.isfinite(seconds):
        return NO_BIN
    return int(np.searchsorted(DELAY_EDGES, max(seconds, 0.0), side="right"))


def conf_bin(confidence: float | None) -> int:
    """The confidence's bin on :data:`CONF_EDGES`, ``NO_BIN`` when the prediction had none."""
    if confidence is None or not np.isfinite(confidence):
        return NO_BIN
    return int(np.searchsorted(CONF_EDGES, confidence, side="right"))


@dataclass
class LabelTally:
    """Joined labels by :class:`LabelKey`: how many, and their predictions' confidence sum."""

    n: Counter[LabelKey] = field(default_factory=Counter)
    conf: dict[LabelKey, float] = field(default_factory=dict)

    def add(self, key: LabelKey, confidence: float | None = None, count: int = 1) -> None:
        self.n[key] += count
        if confidence is not None and np.isfinite(confidence):
            self.conf[key] = self.conf.get(key, 0.0) + float(confidence) * count

    def __iadd__(self, other: LabelTally) -> LabelTally:
        self.n.update(other.n)
        for key, total in other.conf.items():
            self.conf[key] = self.conf.get(key, 0.0) + total
        return self

    def __add__(self, other: LabelTally) -> LabelTally:
        out = self.copy()
        out += other
        return out

    def __bool__(self) -> bool:
        return any(self.n.values())

    def copy(self) -> LabelTally:
        return LabelTally(Counter(self.n), dict(self.conf))

    @property
    def total(self) -> int:
        return sum(self.n.values())

    def to_json(self) -> str:
        """``[[label, predicted, source, conf_bin, delay_bin, n, conf_sum], ...]``, sorted."""
        rows = [[*k, n, self.conf.get(k, 0.0)] for k, n in self.n.items() if n]
        return json.dumps(sorted(rows))

    @staticmethod
    def from_json(text: str | None) -> LabelTally:
        """The stored form back; ``None`` or ``""`` (a pane stored before 0019) is empty."""
        out = LabelTally()
        for label, predicted, source, cb, db, n, total in json.loads(text) if text else ():
            key = LabelKey(str(label), str(predicted), str(source), int(cb), int(db))
            out.n[key] += int(n)
            if total:
                out.conf[key] = out.conf.get(key, 0.0) + float(total)
        return out


def merged(tallies: Iterable[LabelTally]) -> LabelTally:
    out = LabelTally()
    for tally in tallies:
        out += tally
    return out
