"""A robust rolling baseline: is this value an anomalous deviation from recent history?

We use the median and the MAD (median absolute deviation) over a rolling window, and the
modified z-score of Iglewicz and Hoaglin, ``z = 0.6745 · (x - median) / MAD``, anomalous when
``|z| > k`` (3.5 by default, their recommendation). Why this and not a seasonal
(hour-of-week) baseline:

- **Robust to what it detects.** A mean and standard deviation are dragged by the very spikes
  we want to flag, so one outage in the window hides the next; the median and MAD ignore up
  to half the window being outliers.
- **Cheap and explainable.** Two order statistics over a window; the alert can quote
  "median 1000, MAD 50, z 6.1", which a responder can check by eye.
- **Nothing to fit.** Hour-of-week seasonality needs several weeks of history per series
  before it is trustworthy and a model that can silently go stale; a day-long rolling window
  is useful after ``min_samples`` points. Daily traffic curves move slowly relative to the
  window's spread, and the ``for`` duration absorbs the rest. A seasonal variant can be a
  later ``kind`` without changing the rule format.

MAD = 0 (more than half the window identical) would divide by zero. We then fall back to the
mean absolute deviation scaled by 1.2533 (``z = (x - median) / (1.2533 · MeanAD)``, also
Iglewicz and Hoaglin). If that is 0 too the window is perfectly flat: any different value is an
infinite deviation (it fires), the same value is z = 0.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_K = 3.5
_MAD_SCALE = 0.6745
_MEAN_AD_SCALE = 1.253314


@dataclass(frozen=True)
class Deviation:
    """The baseline a value was compared with, and how far off it was (robust z)."""

    median: float
    mad: float
    z: float
    samples: int


def deviation(history: Sequence[float], value: float, *, min_samples: int) -> Deviation | None:
    """Robust z of ``value`` against ``history``; None when the history is too short to judge.

    NaN values in the history are skipped: a gap in the data is not evidence about the level.
    """
    clean = [v for v in history if not math.isnan(v)]
    if len(clean) < min_samples or math.isnan(value):
        return None
    median = statistics.median(clean)
    mad = statistics.median(abs(v - median) for v in clean)
    diff = value - median
    if mad > 0:
        z = _MAD_SCALE * diff / mad
    else:
        mean_ad = statistics.fmean(abs(v - median) for v in clean)
        if mean_ad > 0:
            z = diff / (_MEAN_AD_SCALE * mean_ad)
        else:
            z = 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return Deviation(median=median, mad=mad, z=z, samples=len(clean))


def is_anomalous(d: Deviation | None, k: float = DEFAULT_K) -> bool:
    """``|z| > k``; no verdict (too few samples) is never an anomaly."""
    return d is not None and abs(d.z) > k
