"""Small inline SVG sparklines for the models page, drawn on the server. Pure.

No script and no image request: the SVG is part of the page (the Content-Security-Policy's
``img-src 'self'`` never comes into it). Each chart says its numbers in words, as its
``<title>`` and ``aria-label``, so a screen reader, a text browser and a tired reader who
wants the figure all get it; every text is escaped. A point with no value (no rows in that
interval) breaks the line rather than drawing a zero that never happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup

WIDTH = 160
HEIGHT = 32
PAD = 3


@dataclass(frozen=True)
class Series:
    """One figure over time: ``values[i]`` over the interval starting at ``starts[i]``."""

    label: str
    starts: tuple[datetime, ...]
    values: tuple[float | None, ...]


def percent(value: float) -> str:
    return f"{value:.1%}"


def plain(value: float) -> str:
    return f"{value:.3g}"


def words(series: Series, fmt: Callable[[float], str] = plain) -> str:
    """``estimated accuracy, 12 points from 02:00 UTC: 94.1%, no data, …; last 93.2%``."""
    if not series.starts:
        return f"{series.label}: no data"
    said = [fmt(v) if v is not None else "no data" for v in series.values]
    known = [v for v in series.values if v is not None]
    first = series.starts[0].strftime("%d %b %H:%M UTC")
    head = f"{series.label}, {len(said)} points from {first}: {', '.join(said)}"
    if not known:
        return f"{series.label}: no data in these {len(said)} intervals"
    return f"{head}; last {fmt(known[-1])}, lowest {fmt(min(known))}, highest {fmt(max(known))}"


def _y(value: float, lo: float, hi: float) -> float:
    span = hi - lo or 1.0
    return PAD + (HEIGHT - 2 * PAD) * (1 - (value - lo) / span)


def sparkline(
    series: Series,
    fmt: Callable[[float], str] = plain,
    *,
    lo: float | None = None,
    hi: float | None = None,
) -> Markup:
    """The series as an ``<svg role="img">`` with its numbers as its title and label;
    ``lo``/``hi`` fix the scale (accuracy: 0 to 1), else the values' own range."""
    text = words(series, fmt)
    known = [v for v in series.values if v is not None]
    low = lo if lo is not None else min(known, default=0.0)
    high = hi if hi is not None else max(known, default=1.0)
    n = len(series.values)
    step = (WIDTH - 2 * PAD) / max(n - 1, 1)
    runs: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(series.values):
        if v is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((PAD + i * step, _y(v, low, high)))
    shapes: list[Markup] = []
    for run in runs:
        if len(run) == 1:
            x, y = run[0]
            shapes.append(Markup('<circle cx="%.1f" cy="%.1f" r="2"/>') % (x, y))
        elif run:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            shapes.append(Markup('<polyline points="%s" fill="none"/>') % points)
    body = Markup("").join(shapes)
    return Markup(
        '<svg class="spark" role="img" aria-label="%s" viewBox="0 0 %d %d" width="%d" '
        'height="%d"><title>%s</title>%s</svg>'
    ) % (text, WIDTH, HEIGHT, WIDTH, HEIGHT, text, body)
