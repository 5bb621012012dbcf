"""Sequential change detectors (a one-sided CUSUM; a change point found by the source) that
fire a rule in rows, not minutes.

A fixed ``for: 10m`` asks "has the value been past the threshold for ten minutes?", so a
model whose estimated accuracy fell off a cliff still waits ten minutes (1,000 rows at 100
rows a minute) before anyone hears of it. A CUSUM asks the question the wait stood for, "is
this a real change or noise?", of the rows themselves, with a false-alarm rate set in
advance, and answers it as soon as the rows say so.

**What it reads.** A series that supports it carries running counters in its sample notes
(like a Prometheus counter: totals since the monitor began watching, so any number of
readers and any evaluation interval see the same rows): ``rows_seen`` (rows so far),
``rows_sum`` (the sum of the per-row value, e.g. each prediction's confidence), and the
reference the rows are judged against, ``reference_mean`` and ``reference_sd`` of one row
(the model's reference profile). Between two evaluations the detector takes the difference
of the counters: ``m`` new rows with sum ``s``. The per-row mean of the estimate and of the
mean confidence is each row's confidence, so both rules read the same counters.

**The statistic.** For a rule that fires on a fall (``op: <``), per new batch::

    S <- max(0, S + (m*mu0 - s)/sd0 - m*k)

(mirrored for ``>``), with ``mu0, sd0`` the reference row mean and sd and ``k`` half the
shift worth detecting, in sds. The shift is the rule's ``shift:``; by default the distance
from the reference mean to the rule's threshold, which is what the rule already says is
worth an alert (at least ``MIN_SHIFT``). The detector *alarms* when ``S ≥ h``, and stays
alarmed until ``S`` is back at 0.

**False alarms (ARL0).** ``h`` is chosen so that on rows like the reference the average
number of rows between false alarms (the in-control average run length, ARL0) is the
rule's ``arl0:`` (default ``DEFAULT_ARL0`` = 100,000 rows: at most one per 100 windows of
1,000 rows), from Siegmund's approximation for a CUSUM of unit-variance normal increments,
``ARL0 ~ (exp(2kb) - 2kb - 1) / 2k^2`` with ``b = h + 1.166``. Increments come a batch at a
time and the statistic is clamped at 0 only between batches, which never raises it above
the row-by-row CUSUM, so the batch form alarms no more often than the row-level ARL0 says.
Two things the approximation assumes are checked by the bench, not promised: rows
independent, and their sum near normal (a confidence is bounded and skewed; a batch of tens
of rows is close to normal, one row is not).

**A change point (``detect: changepoint``).** Some series are judged by a test the source
already ran: the model monitor tests every suffix of a window's panes against the reference
(``bot.quality.drift.changepoint``, stateless, its false-alarm rate set there) and, when it
finds the point the inputs changed at, puts on the sample ``change_rows`` (rows since the
change), ``change_value`` (the metric on those rows alone, e.g. the moved features' worst
PSI) and ``change_features`` (which moved). The rule then judges ``change_value`` against
its threshold: the threshold still says how far is bad, the test says the change is real,
and the rows since the change are no longer diluted by the window's older rows. Without
those notes the rule judges its value with its ``for``, as before; nothing is kept here.

**The run.** The detector also keeps the rows of its current *run* (since ``S`` last left
0) and their sum. When a sample's value is the mean of its rows (the note
``rows_are_value``: the mean confidence), an alarm whose run's mean is past the threshold
is the condition itself, judged on the rows since the change began rather than on the
window, whose older rows dilute a fall (a window of 1,000 rows reads the floor only after
hundreds of fallen rows). The rule then fires with the run's mean, and the detector is not
restarted: while it fires, the run (still growing while rows stay low) keeps it firing, so a
window that has not caught up yet cannot resolve it a minute later. Once the rows are back
to the reference, ``S`` falls to 0, the run ends, and the window's value alone decides.

**Firing.** A ``detect: cusum`` rule fires when its value is past the threshold and either
the detector alarms or the value has held for the rule's ``for``: the threshold still says
what is bad, the CUSUM brings the firing forward when the rows show a real change, and the
``for`` a user tuned still bounds the wait. ``S`` restarts at 0 when the rule fires (but
for a run, above) and when it resolves, and the counters are re-read from scratch when they
go backwards (a restarted monitor). A series with no counters (e.g. a Prometheus metric)
waits its ``for``.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache

ROWS_SEEN = "rows_seen"
ROWS_SUM = "rows_sum"
REFERENCE_MEAN = "reference_mean"
REFERENCE_SD = "reference_sd"
CHANGE_ROWS = "change_rows"
CHANGE_VALUE = "change_value"
CHANGE_FEATURES = "change_features"
ROWS_ARE_VALUE = "rows_are_value"
"""A note saying the sample's value *is* the mean of its rows' values (the mean confidence,
not the estimate built on it): a CUSUM alarm may then judge the rows of its run alone."""
RUN = "cusum_run"
"""An alert's note: it fired on the CUSUM run's rows (their mean is the value it quotes)."""
#: The counters a CUSUM reads (all of them, or the sample has none).
COUNTER_NOTES = frozenset({ROWS_SEEN, ROWS_SUM, REFERENCE_MEAN, REFERENCE_SD})
#: The note keys the detectors read; the evaluator keeps them out of alert annotations.
STREAM_NOTES = COUNTER_NOTES | {CHANGE_ROWS, CHANGE_VALUE, CHANGE_FEATURES, ROWS_ARE_VALUE}

CUSUM = "cusum"
CHANGEPOINT = "changepoint"
DETECTORS = frozenset({CUSUM, CHANGEPOINT})
DEFAULT_ARL0 = 100_000
"""Rows between false alarms on reference-like traffic: one per 100 windows of 1,000 rows."""
MIN_ARL0 = 100
MIN_SHIFT = 0.1
"""Smallest shift (in reference sds) a default ``shift`` is allowed to shrink to: a threshold
hugging the reference mean would otherwise ask for a detector of an invisible change."""
FALLBACK_SHIFT = 1.0
"""The shift when the reference mean is already past the threshold (no distance to use)."""
_SIEGMUND = 1.166


@dataclass(frozen=True)
class DetectSpec:
    """A rule's ``detect:`` with its parameters (``shift`` None: from the threshold)."""

    method: str = "cusum"
    arl0: int = DEFAULT_ARL0
    shift: float | None = None

    def describe(self) -> str:
        """``cusum ARL0 100,000 rows`` (and the shift when set), for ``vigil rules list``."""
        if self.method == CHANGEPOINT:
            return f"{CHANGEPOINT} (the source's test of the window's panes)"
        shift = f", shift {self.shift:g} sd" if self.shift is not None else ""
        return f"{self.method} ARL0 {self.arl0:,} rows{shift}"


@dataclass(frozen=True)
class Cusum:
    """One (rule, series)'s detector: the statistic, rows since it restarted, and the last
    counters read (None until the first reading, and after the counters went backwards)."""

    statistic: float = 0.0
    rows: int = 0
    seen: int | None = None
    total: float | None = None
    alarm: bool = False
    run_rows: int = 0
    """Rows since the statistic last left 0 (the current excursion), and their sum."""
    run_sum: float = 0.0

    def restart(self) -> Cusum:
        """After the rule fired or resolved: judge the next rows afresh."""
        return replace(self, statistic=0.0, rows=0, alarm=False, run_rows=0, run_sum=0.0)

    def run(self) -> Change | None:
        """The run's rows and their mean, while there is one."""
        if self.run_rows <= 0:
            return None
        return Change(self.run_rows, self.run_sum / self.run_rows)


@dataclass(frozen=True)
class Reading:
    """The counters and the reference of one sample, parsed from its notes."""

    seen: int
    total: float
    mean: float
    sd: float


def reading(notes: Mapping[str, str] | None) -> Reading | None:
    """The sample's counters, or None when it carries none (or nonsense)."""
    if not notes or not notes.keys() >= COUNTER_NOTES:
        return None
    try:
        seen = int(notes[ROWS_SEEN])
        total, mean, sd = (float(notes[k]) for k in (ROWS_SUM, REFERENCE_MEAN, REFERENCE_SD))
    except ValueError:
        return None
    if seen < 0 or not all(math.isfinite(x) for x in (total, mean, sd)) or sd <= 0:
        return None
    return Reading(seen, total, mean, sd)


@dataclass(frozen=True)
class Change:
    """A change point the source found: rows since it, the metric on them, what moved."""

    rows: int
    value: float
    features: str = ""

    def words(self) -> str:
        """`` (on the 200 rows since a change the monitor found: income 0.61)``."""
        moved = f": {self.features}" if self.features else ""
        return f" (on the {self.rows:,} rows since a change the monitor found{moved})"


def change(notes: Mapping[str, str] | None) -> Change | None:
    """The sample's change point, or None when its source found none (or sent nonsense)."""
    if not notes or CHANGE_ROWS not in notes or CHANGE_VALUE not in notes:
        return None
    try:
        rows, value = int(notes[CHANGE_ROWS]), float(notes[CHANGE_VALUE])
    except ValueError:
        return None
    if rows <= 0 or not math.isfinite(value):
        return None
    return Change(rows, value, notes.get(CHANGE_FEATURES, ""))


def drift_allowance(spec: DetectSpec, op: str, mean: float, sd: float, threshold: float) -> float:
    """``k``: half the shift worth detecting, in reference sds."""
    if spec.shift is not None:
        return spec.shift / 2
    toward = mean - threshold if op in ("<", "<=") else threshold - mean
    shift = toward / sd if toward > 0 else FALLBACK_SHIFT
    return max(shift, MIN_SHIFT) / 2


def siegmund_arl0(k: float, h: float) -> float:
    """Average run length in rows on reference-like rows (Siegmund's approximation)."""
    b = h + _SIEGMUND
    x = 2 * k * b
    return (math.expm1(x) - x) / (2 * k * k)


@lru_cache(maxsize=256)
def decision_threshold(arl0: int, k: float) -> float:
    """``h`` with ``siegmund_arl0(k, h) == arl0``, by bisection (ARL0 grows with ``h``)."""
    low, high = 0.0, 1.0
    while siegmund_arl0(k, high) < arl0:
        high *= 2
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if siegmund_arl0(k, middle) < arl0 else (low, middle)
    return high


def update(state: Cusum, read: Reading, spec: DetectSpec, op: str, threshold: float) -> Cusum:
    """Add the rows between ``state``'s last counters and ``read`` to the statistic."""
    if state.seen is None or read.seen < state.seen or state.total is None:
        return replace(state, seen=read.seen, total=read.total)  # a start, or a restart
    rows = read.seen - state.seen
    if rows == 0:
        return state
    total = read.total - state.total
    k = drift_allowance(spec, op, read.mean, read.sd, threshold)
    away = rows * read.mean - total if op in ("<", "<=") else total - rows * read.mean
    statistic = max(0.0, state.statistic + away / read.sd - rows * k)
    # An alarm holds until the excursion ends (S back at 0), not just while S >= h.
    alarm = statistic >= decision_threshold(spec.arl0, round(k, 6)) or (
        state.alarm and statistic > 0
    )
    run_rows, run_sum = (0, 0.0)
    if statistic > 0:  # the excursion goes on (or begins with these rows)
        run_rows, run_sum = state.run_rows + rows, state.run_sum + total
    return Cusum(statistic, state.rows + rows, read.seen, read.total, alarm, run_rows, run_sum)
