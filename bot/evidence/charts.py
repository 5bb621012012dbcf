"""Charts as PNG bytes: one feature's reference vs current histogram, and accuracy over time.

Pure: no file or network I/O and no clock; the caller decides where the bytes go. Drawn on a
``matplotlib.figure.Figure`` with an Agg canvas, never ``pyplot``: pyplot keeps a global
registry of open figures and a "current figure" that threads would share (and leaks every
figure nobody closes). Matplotlib is still not thread-safe across figures (font and text
caches are shared), so renders take one module lock; they are rare (once per chart per
incident) and short. Figures are small (8 x 4 in at 100 dpi) so a render stays well under
a few hundred milliseconds.

The drift chart shows *shares*, not counts: the reference holds thousands of rows and the
window perhaps a few hundred, and what PSI measures is how the proportions moved.
"""

from __future__ import annotations

import io
import itertools
import math
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from bot.quality.profile import CategoricalProfile, FeatureProfile, NumericProfile

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _mpl() -> ModuleType:
    """Matplotlib, loaded at the first chart: it costs a third of a second, and a Vigil
    whose incidents never need a chart (or a ``vigil`` verb) should not pay it at start.
    (A third-party import inside a function on purpose; our own modules import at the top.)"""
    import matplotlib.backends.backend_agg
    import matplotlib.dates
    import matplotlib.figure
    import matplotlib.ticker

    return matplotlib


def _percent_axis(xmax: float, decimals: int | None = None) -> Any:
    return _mpl().ticker.PercentFormatter(xmax, decimals=decimals)


WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.0, 100
MAX_BARS = 20
"""Most bars per side: beyond it the rarest categories are pooled, so labels stay legible."""
LABEL_CHARS = 18
REFERENCE_COLOR = "#8c8c8c"  # grey: what the model was validated on
CURRENT_COLOR = "#d35400"  # orange: what it sees now
ESTIMATE_COLOR = "#2e86c1"
REALIZED_COLOR = "#1e8449"
SLA_COLOR = "#c0392b"
_MARKERS_UP_TO = 60  # points; beyond, markers would blur into the line
_SINGLE_SPAN = timedelta(minutes=10)  # x range around a lone point

_RENDER = threading.Lock()

Shares = npt.NDArray[np.float64]


class AccuracyPointLike(Protocol):
    """One moment's accuracy figures (``bot.monitoring.monitor.AccuracyPoint`` fits)."""

    @property
    def at(self) -> datetime: ...
    @property
    def estimated(self) -> float | None: ...
    @property
    def low(self) -> float | None: ...
    @property
    def high(self) -> float | None: ...
    @property
    def realized(self) -> float | None: ...


def _number(x: float) -> str:
    """Short, readable bin edges: ``31.2``, ``0.045``, ``55,000``."""
    if x == 0:
        return "0"
    if abs(x) >= 10_000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.3g}"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def bin_labels(profile: FeatureProfile) -> list[str]:
    """One label per histogram bin, aligned with ``profile.histogram`` and window counts.

    Numeric bins are open at both ends (``< 31.2`` … ``≥ 80.1``): values outside the
    reference range are counted in the outer bins, so the labels say so (``31.2 to 40.5``
    in between). A categorical
    profile's last bin pools everything not kept: ``other``, or ``unseen`` when the
    reference kept every category (then only new values can land there).
    """
    if isinstance(profile, NumericProfile):
        edges = [_number(e) for e in profile.edges]
        inner = [f"{a} to {b}" for a, b in itertools.pairwise(edges)]
        return [f"< {edges[0]}", *inner, f"≥ {edges[-1]}"]
    return [*profile.categories, "unseen" if profile.complete else "other"]


def _shares(counts: npt.ArrayLike) -> Shares:
    array = np.asarray(counts, dtype=np.float64)
    total = float(array.sum())
    return array / total if total > 0 else np.zeros_like(array)


def _pool(
    labels: list[str], reference: Shares, current: Shares
) -> tuple[list[str], Shares, Shares]:
    """Keep the ``MAX_BARS - 1`` categories that weigh most on either side, in reference
    order, and pool the rest with the last (other) bin."""
    if len(labels) <= MAX_BARS:
        return labels, reference, current
    body = len(labels) - 1
    weight = np.maximum(reference[:body], current[:body])
    keep = np.sort(np.argsort(-weight, kind="stable")[: MAX_BARS - 1])
    dropped = np.setdiff1d(np.arange(body), keep)
    pooled = f"{labels[-1]} +{dropped.size}"
    ref = np.append(reference[keep], reference[dropped].sum() + reference[-1])
    cur = np.append(current[keep], current[dropped].sum() + current[-1])
    return [labels[i] for i in keep] + [pooled], ref, cur


def _figure() -> tuple[Figure, Axes]:
    mpl = _mpl()
    fig = mpl.figure.Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    mpl.backends.backend_agg.FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _heading(fig: Figure, title: str) -> None:
    """Title above, legend in one row below the plot: never over a bar or a line."""
    fig.suptitle(title, fontsize=10)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncol=len(handles),
            fontsize=8,
            frameon=False,
        )


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def drift_chart(
    feature_profile: FeatureProfile,
    current_counts: npt.ArrayLike,
    *,
    model: str,
    psi: float,
    window_text: str,
) -> bytes:
    """Reference share vs current share per bin, side by side; PNG bytes.

    ``current_counts`` is the window's counts for this feature, aligned with
    ``feature_profile.histogram`` (``WindowSnapshot.counts[name]``). An empty window draws
    the reference alone and says the window has no rows.
    """
    ref_counts = np.asarray(feature_profile.histogram, dtype=np.float64)
    cur_counts = np.asarray(current_counts, dtype=np.float64).ravel()
    if cur_counts.shape != ref_counts.shape:
        raise ValueError(
            f"{feature_profile.name}: {cur_counts.size} current bins for "
            f"{ref_counts.size} reference bins"
        )
    labels, reference, current = _pool(
        bin_labels(feature_profile), _shares(ref_counts), _shares(cur_counts)
    )
    n_ref, n_cur = int(ref_counts.sum()), int(cur_counts.sum())
    with _RENDER:
        fig, ax = _figure()
        x = np.arange(len(labels), dtype=np.float64)
        ax.bar(x - 0.2, reference, 0.4, color=REFERENCE_COLOR, label=f"reference ({n_ref:,} rows)")
        ax.bar(x + 0.2, current, 0.4, color=CURRENT_COLOR, label=f"current ({n_cur:,} rows)")
        tilt = len(labels) > 6 or any(len(label) > 8 for label in labels)
        ax.set_xticks(
            x,
            [_short(label) for label in labels],
            rotation=35 if tilt else 0,
            ha="right" if tilt else "center",
            fontsize=8,
        )
        ax.yaxis.set_major_formatter(_percent_axis(1.0, decimals=0))
        ax.set_ylabel("share of rows")
        kind = "category" if isinstance(feature_profile, CategoricalProfile) else "value bin"
        ax.set_xlabel(f"{feature_profile.name} ({kind})")
        title = f"{model} · {feature_profile.name}: reference vs {window_text} (PSI {psi:.2f})"
        _heading(fig, title)
        if n_cur == 0:
            ax.text(
                0.5,
                0.9,
                "no rows in the window yet",
                transform=ax.transAxes,
                ha="center",
                color=CURRENT_COLOR,
            )
        top = max(float(reference.max(initial=0)), float(current.max(initial=0)))
        ax.set_ylim(0, (top or 1.0) * 1.1)
        ax.grid(axis="y", alpha=0.3)
        return _png(fig)


def _day_numbers(moments: Sequence[datetime]) -> Shares:
    """Matplotlib's date numbers (days since its epoch, UTC); ``matplotlib.dates`` is untyped."""
    numbers = _mpl().dates.date2num(list(moments))
    return np.asarray(numbers, dtype=np.float64).reshape(len(moments))


def _series(values: Sequence[float | None]) -> Shares:
    """Floats with NaN for a missing figure, so lines break instead of inventing a value."""
    return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)


def _percent(x: float) -> str:
    return f"{x:.0%}" if abs(x * 100 - round(x * 100)) < 0.05 else f"{x:.1%}"


def accuracy_chart(points: Sequence[AccuracyPointLike], *, model: str, sla: float | None) -> bytes:
    """Accuracy over time: the label-free estimate with its 95 % band, realized accuracy where
    labels arrived, the SLA dashed; PNG bytes. Any of them may be missing; no point at all
    draws an empty frame that says so."""
    ordered = sorted(points, key=lambda p: p.at)
    times = _day_numbers([p.at for p in ordered])
    estimated = _series([p.estimated for p in ordered])
    low = _series([p.low for p in ordered])
    high = _series([p.high for p in ordered])
    realized = _series([p.realized for p in ordered])
    marker = "o" if len(ordered) <= _MARKERS_UP_TO else None
    with _RENDER:
        fig, ax = _figure()
        band = ~np.isnan(low) & ~np.isnan(high)
        if np.count_nonzero(band) >= 2:
            ax.fill_between(
                times,
                low,
                high,
                where=band,
                color=ESTIMATE_COLOR,
                alpha=0.18,
                label="95 % interval",
            )
        elif band.any():  # a lone interval: a fill of one x is invisible, an error bar is not
            mid = np.where(np.isnan(estimated), (low + high) / 2, estimated)
            ax.errorbar(
                times[band],
                mid[band],
                yerr=np.vstack([mid[band] - low[band], high[band] - mid[band]]),
                fmt="none",
                ecolor=ESTIMATE_COLOR,
                capsize=4,
                label="95 % interval",
            )
        if not np.isnan(estimated).all():
            ax.plot(
                times,
                estimated,
                color=ESTIMATE_COLOR,
                marker=marker,
                markersize=3,
                label="estimated (from confidence, no labels)",
            )
        if not np.isnan(realized).all():
            ax.plot(
                times,
                realized,
                color=REALIZED_COLOR,
                marker=marker,
                markersize=3,
                label="realized (labels arrived)",
            )
        if sla is not None:
            ax.axhline(
                sla, color=SLA_COLOR, linestyle="--", linewidth=1.2, label=f"SLA {_percent(sla)}"
            )
        _frame(ax, times, [estimated, low, high, realized], sla)
        _heading(fig, f"{model}: accuracy over time{_latest(estimated, realized)}")
        if not ordered:
            ax.text(0.5, 0.75, "no accuracy figures yet", transform=ax.transAxes, ha="center")
        return _png(fig)


def _latest(estimated: Shares, realized: Shares) -> str:
    parts = []
    for name, series in (("estimated", estimated), ("realized", realized)):
        known = series[~np.isnan(series)]
        if known.size:
            parts.append(f"{name} {_percent(float(known[-1]))}")
    return f" (latest: {', '.join(parts)})" if parts else ""


def _frame(ax: Axes, times: Shares, series: list[Shares], sla: float | None) -> None:
    """Axes that fit the figures: time in UTC, accuracy as percent zoomed to the data."""
    values = np.concatenate([s[~np.isnan(s)] for s in series] + [np.asarray([], np.float64)])
    if sla is not None:
        values = np.append(values, sla)
    if values.size:
        lo, hi = float(values.min()), float(values.max())
        pad = max(0.03, (hi - lo) * 0.15)
        ax.set_ylim(max(0.0, lo - pad), min(1.0, hi + pad) if hi <= 1.0 else hi + pad)
    else:
        ax.set_ylim(0.0, 1.0)
    ax.yaxis.set_major_formatter(_percent_axis(1.0))
    ax.set_ylabel("accuracy")
    ax.set_xlabel("time (UTC)")
    ax.grid(alpha=0.3)
    if times.size == 0:
        ax.set_xticks([])
        return
    ax.xaxis_date(tz="UTC")
    if float(times.max() - times.min()) == 0.0:  # one moment: give it some room either side
        half = _SINGLE_SPAN / timedelta(days=1) / 2
        ax.set_xlim(float(times[0]) - half, float(times[0]) + half)
    locator = _mpl().dates.AutoDateLocator(tz="UTC")
    ax.xaxis.set_major_locator(locator)
    formatter = _mpl().dates.ConciseDateFormatter(locator, tz="UTC")
    ax.xaxis.set_major_formatter(formatter)


def importance_chart(
    reference: Mapping[str, float],
    current: Mapping[str, float],
    *,
    model: str,
    tau: float,
    top: int = 10,
) -> bytes:
    """Each feature's share of the model's importance, at training time vs now; PNG bytes.

    What a feature-importance shift is about: which features the model leans on now. The
    features shown are the ``top`` most important on either side, most important at
    training time first; shares are of the absolute importances, so the two sides compare
    whatever scale each was computed on.
    """
    ref = {k: abs(float(v)) for k, v in reference.items()}
    cur = {k: abs(float(v)) for k, v in current.items()}
    ref_total, cur_total = sum(ref.values()) or 1.0, sum(cur.values()) or 1.0
    ranked = sorted(ref, key=lambda k: (-ref[k], k))[:top]
    ranked += [k for k in sorted(cur, key=lambda k: (-cur[k], k))[:top] if k not in ranked]
    y = np.arange(len(ranked), dtype=np.float64)
    ref_share = np.array([ref.get(k, 0.0) / ref_total for k in ranked])
    cur_share = np.array([cur.get(k, 0.0) / cur_total for k in ranked])
    with _RENDER:
        fig, ax = _figure()
        ax.barh(y - 0.2, ref_share, 0.4, color=REFERENCE_COLOR, label="at training time")
        ax.barh(y + 0.2, cur_share, 0.4, color=CURRENT_COLOR, label="now")
        ax.set_yticks(y, [_short(k) for k in ranked], fontsize=8)
        ax.invert_yaxis()  # most important at training time on top
        ax.xaxis.set_major_formatter(_percent_axis(1.0, decimals=0))
        ax.set_xlabel("share of the model's importance")
        _heading(fig, f"{model} · feature importance: training vs now (rank tau {tau:.2f})")
        ax.grid(axis="x", alpha=0.3)
        return _png(fig)
