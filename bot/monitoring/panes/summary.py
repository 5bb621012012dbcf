"""One version's evidence over a time range, from its stored panes: what a canary judge reads.

The panes (``panes.store``) hold, per version and minute of arrival, the rows' sketch, the
latencies kept and the labels joined since to those rows' predictions: everything the old
minute ledger kept, stored as each post is acknowledged and shared by every replica. So a
``VersionSummary`` over ``[since, until)`` is the sum of the panes whose minute starts in
it (to the minute, as the ledger read it): rows, the confidence sums of the label-free
estimate, the prediction and confidence histograms on the reference's bins, the labels as
a confusion count, and the latencies (at most ``LATENCIES_KEPT`` a pane; the summary says
when that is a sample).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from bot.monitoring.panes.parts import Pane
from bot.quality.compare.ledger import VersionSummary
from bot.quality.estimate import ConfidenceSums
from bot.quality.sketch import CONF_SUM, CONF_VAR, SketchLayout


def summary_of(
    layout: SketchLayout,
    model: str,
    version: str,
    since: datetime | None,
    until: datetime | None,
    panes: Sequence[Pane],
) -> VersionSummary:
    """The sum of ``panes`` (the version's, already chosen for the range) as a summary."""
    counts = np.zeros(layout.size, dtype=np.int64)
    conf_sum = conf_var = 0.0
    confusion: Counter[tuple[str, str]] = Counter()
    latencies: list[np.typing.NDArray[np.float32]] = []
    latency_rows = 0
    for pane in panes:
        sketch = pane.sketch
        if sketch.counts.shape == counts.shape:  # a labels-only pane has no counts
            counts += sketch.counts
        conf_sum += float(sketch.sums[CONF_SUM])
        conf_var += float(sketch.sums[CONF_VAR])
        confusion.update(sketch.confusion)
        latencies.append(pane.latencies)
        latency_rows += pane.latency_rows
    kept = np.concatenate(latencies) if latencies else np.zeros(0, dtype=np.float32)
    confident = counts[layout.conf_at : layout.rows_at]
    return VersionSummary(
        model=model,
        version=version,
        since=since,
        until=until,
        rows=int(counts[layout.rows_at]),
        confidence=ConfidenceSums(int(confident.sum()), conf_sum, conf_var),
        prediction_counts=counts[layout.pred_at : layout.pred_at + layout.pred_width].copy(),
        prediction_missing=int(counts[layout.pred_missing_at]),
        confidence_counts=confident.copy(),
        confusion=dict(confusion),
        latency_ms=tuple(kept.tolist()),
        latency_rows=latency_rows,
    )
