"""CpuSource with an injected reader, and the pure Sustained window rule."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta

import psutil
import pytest

from bot.sources.base import Source, SourceUnavailable
from bot.sources.system import CpuSource, Sustained, psutil_cpu_reader

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


async def test_cpu_sample_is_a_fraction_per_host() -> None:
    readings = iter([87.5, 140.0])
    source = CpuSource(host="gpu-node-1", reader=lambda: next(readings))
    assert isinstance(source, Source)
    [sample] = await source.collect(T0)
    assert (sample.metric, sample.value, dict(sample.labels), sample.at) == (
        "cpu_utilization",
        0.875,
        {"host": "gpu-node-1"},
        T0,
    )
    [clamped] = await source.collect(T0)
    assert clamped.value == 1.0


async def test_reader_failure_is_unavailable() -> None:
    def broken() -> float:
        raise psutil.AccessDenied(pid=1)

    with pytest.raises(SourceUnavailable, match="cannot read CPU") as err:
        await CpuSource(host="h", reader=broken).collect(T0)
    assert err.value.source == "system"


async def test_stalled_reader_times_out() -> None:
    release = threading.Event()
    source = CpuSource(host="h", reader=lambda: float(release.wait(5)), timeout_s=0.05)
    try:
        with pytest.raises(SourceUnavailable, match=r"timed out after 0\.05s"):
            await source.collect(T0)
    finally:
        release.set()  # let the worker thread finish


def test_psutil_reader_reads_a_percent() -> None:
    value = psutil_cpu_reader()()
    assert 0.0 <= value <= 100.0


def test_sustained_needs_the_whole_window() -> None:
    rule = Sustained(0.8, 5 * MIN)
    assert not rule.observe(T0, 0.9)
    assert rule.since == T0
    assert not rule.observe(T0 + 4 * MIN, 0.95)
    assert rule.observe(T0 + 5 * MIN, 0.85)
    assert rule.observe(T0 + 6 * MIN, 0.99)


@pytest.mark.parametrize("dip", [0.8, 0.1, math.nan])
def test_sustained_dip_restarts_the_window(dip: float) -> None:
    rule = Sustained(0.8, 5 * MIN)
    rule.observe(T0, 0.9)
    assert not rule.observe(T0 + 3 * MIN, dip)  # at the threshold is not above it
    assert rule.since is None
    assert not rule.observe(T0 + 4 * MIN, 0.9)
    assert not rule.observe(T0 + 8 * MIN, 0.9)
    assert rule.observe(T0 + 9 * MIN, 0.9)


def test_sustained_gap_restarts_the_window() -> None:
    rule = Sustained(0.8, 5 * MIN, max_gap=2 * MIN)
    rule.observe(T0, 0.9)
    assert not rule.observe(T0 + 5 * MIN, 0.9)  # 5 minutes with no data in between
    assert rule.since == T0 + 5 * MIN
    assert rule.observe(T0 + 10 * MIN, 0.9) is False  # gap again
    rule.observe(T0 + 11 * MIN, 0.9)
    assert rule.observe(T0 + 12 * MIN, 0.9) is False
    assert rule.observe(T0 + 15 * MIN, 0.9) is False  # 3 min gap > 2
    for minute in (16, 17, 18, 19):
        rule.observe(T0 + minute * MIN, 0.9)
    assert rule.observe(T0 + 20 * MIN, 0.9)


def test_sustained_rejects_out_of_order_and_resets() -> None:
    rule = Sustained(0.8, MIN)
    rule.observe(T0, 0.9)
    with pytest.raises(ValueError, match="older"):
        rule.observe(T0 - MIN, 0.9)
    rule.reset()
    assert rule.since is None
    assert not rule.observe(T0 - MIN, 0.9)
    assert rule.observe(T0, 0.9)


def test_zero_window_fires_on_the_first_high_value() -> None:
    assert Sustained(0.8, timedelta(0)).observe(T0, 0.81)
    with pytest.raises(ValueError, match="negative"):
        Sustained(0.8, -MIN)
