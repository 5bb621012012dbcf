"""GpuSource against a fake NVML module injected at the import boundary."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from bot.sources.base import Source, SourceUnavailable
from bot.sources.gpu import XID_CLASSES, GpuSource, classify_xid, load_nvml

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
NOT_SUPPORTED, DRIVER_NOT_LOADED, TIMEOUT, GPU_LOST = 3, 9, 10, 15
XID_EVENT = 0x8


class NVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(f"NVML error {value}")
        self.value = value


@dataclass
class FakeGpu:
    uuid: str
    name: str = "NVIDIA H100 80GB HBM3"
    util: int = 50
    used: int = 60
    total: int = 80
    temp: int = 65
    ecc: int | None = 0  # None: NotSupported
    retired: tuple[int, int] | None = None  # (single-bit, double-bit); None: NotSupported
    pending: bool = False
    events: bool = True


@dataclass
class FakeNvml:
    """Just the pynvml surface GpuSource uses, with its constant values."""

    gpus: list[FakeGpu]
    init_error: int | None = None
    pending_xids: list[tuple[int, int]] = field(default_factory=list)  # (device index, code)
    calls: list[str] = field(default_factory=list)

    NVMLError = NVMLError
    NVML_ERROR_NOT_SUPPORTED = NOT_SUPPORTED
    NVML_ERROR_TIMEOUT = TIMEOUT
    NVML_TEMPERATURE_GPU = 0
    NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
    NVML_VOLATILE_ECC = 0
    NVML_FEATURE_ENABLED = 1
    NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS = 0
    NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR = 1
    nvmlEventTypeXidCriticalError = XID_EVENT

    def nvmlInit(self) -> None:
        self.calls.append("init")
        if self.init_error is not None:
            raise NVMLError(self.init_error)

    def nvmlShutdown(self) -> None:
        self.calls.append("shutdown")

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:
        return self.gpus[index]

    def nvmlDeviceGetUUID(self, gpu: FakeGpu) -> str:
        return gpu.uuid

    def nvmlDeviceGetName(self, gpu: FakeGpu) -> bytes:
        return gpu.name.encode()  # older pynvml returns bytes

    def nvmlDeviceGetUtilizationRates(self, gpu: FakeGpu) -> Any:
        if gpu.util < 0:
            raise NVMLError(GPU_LOST)
        return SimpleNamespace(gpu=gpu.util, memory=10)

    def nvmlDeviceGetMemoryInfo(self, gpu: FakeGpu) -> Any:
        return SimpleNamespace(used=gpu.used, total=gpu.total, free=gpu.total - gpu.used)

    def nvmlDeviceGetTemperature(self, gpu: FakeGpu, sensor: int) -> int:
        assert sensor == self.NVML_TEMPERATURE_GPU
        return gpu.temp

    def nvmlDeviceGetTotalEccErrors(self, gpu: FakeGpu, kind: int, counter: int) -> int:
        assert (kind, counter) == (1, 0)
        if gpu.ecc is None:
            raise NVMLError(NOT_SUPPORTED)
        return gpu.ecc

    def nvmlDeviceGetRetiredPagesPendingStatus(self, gpu: FakeGpu) -> int:
        if gpu.retired is None:
            raise NVMLError(NOT_SUPPORTED)
        return int(gpu.pending)

    def nvmlDeviceGetRetiredPages(self, gpu: FakeGpu, cause: int) -> list[int]:
        if gpu.retired is None:
            raise NVMLError(NOT_SUPPORTED)
        return [0x1000 * i for i in range(gpu.retired[cause])]

    def nvmlEventSetCreate(self) -> str:
        return "event-set"

    def nvmlEventSetFree(self, events: str) -> None:
        self.calls.append("free")

    def nvmlDeviceRegisterEvents(self, gpu: FakeGpu, types: int, events: str) -> None:
        assert (types, events) == (XID_EVENT, "event-set")
        if not gpu.events:
            raise NVMLError(NOT_SUPPORTED)
        self.calls.append(f"register {gpu.uuid}")

    def nvmlEventSetWait(self, events: str, timeout_ms: int) -> Any:
        assert timeout_ms == 0  # never block the worker thread
        if not self.pending_xids:
            raise NVMLError(TIMEOUT)
        index, code = self.pending_xids.pop(0)
        return SimpleNamespace(eventType=XID_EVENT, eventData=code, device=self.gpus[index])


def by_metric(samples: list[Any], uuid: str) -> dict[str, float]:
    return {
        s.metric: s.value
        for s in samples
        if s.labels["uuid"] == uuid and s.metric != "gpu_xid_errors"
    }


async def test_readings_per_device_with_uuid() -> None:
    nvml = FakeNvml([FakeGpu("GPU-a", retired=(2, 1), pending=True), FakeGpu("GPU-b", util=97)])
    source = GpuSource(nvml=nvml)
    assert isinstance(source, Source)
    assert source.enabled is None
    samples = await source.collect(NOW)
    assert source.enabled is True
    assert by_metric(samples, "GPU-a") == {
        "gpu_utilization": 0.5,
        "gpu_memory_utilization": 0.75,
        "gpu_temperature_c": 65.0,
        "gpu_ecc_uncorrected_volatile": 0.0,
        "gpu_retired_pages_pending": 1.0,
        "gpu_retired_pages_single_bit": 2.0,
        "gpu_retired_pages_double_bit": 1.0,
    }
    assert by_metric(samples, "GPU-b")["gpu_utilization"] == 0.97
    b = next(s for s in samples if s.labels["uuid"] == "GPU-b")
    assert dict(b.labels) == {"gpu": "1", "uuid": "GPU-b", "name": "NVIDIA H100 80GB HBM3"}
    assert b.at == NOW
    assert nvml.calls == ["init", "register GPU-a", "register GPU-b"]


async def test_not_supported_readings_are_omitted() -> None:
    nvml = FakeNvml([FakeGpu("GPU-a", ecc=None, retired=None)])
    samples = await GpuSource(nvml=nvml).collect(NOW)
    assert set(by_metric(samples, "GPU-a")) == {
        "gpu_utilization",
        "gpu_memory_utilization",
        "gpu_temperature_c",
    }


def xid_counts(samples: list[Any]) -> dict[tuple[str, str], float]:
    return {
        (s.labels["uuid"], s.labels["xid_class"]): s.value
        for s in samples
        if s.metric == "gpu_xid_errors"
    }


async def test_xid_events_are_counted_per_class_over_the_window(
    caplog: pytest.LogCaptureFixture,
) -> None:
    nvml = FakeNvml([FakeGpu("GPU-a"), FakeGpu("GPU-b", events=False), FakeGpu("GPU-c")])
    source = GpuSource(nvml=nvml, xid_window=timedelta(hours=1))
    quiet = xid_counts(await source.collect(NOW))
    # Every watched device reports every class each poll, zeros included, so the series
    # never go silent; GPU-b sends no events, so it gets no (falsely reassuring) zeros.
    assert quiet == {(u, k): 0.0 for u in ("GPU-a", "GPU-c") for k in XID_CLASSES}
    nvml.pending_xids = [(0, 13), (2, 79), (0, 13), (2, 999)]
    with caplog.at_level(logging.WARNING, logger="bot.sources.gpu"):
        samples = await source.collect(NOW + timedelta(minutes=1))
    counts = xid_counts(samples)
    assert counts[("GPU-a", "application")] == 2.0
    assert counts[("GPU-c", "hardware")] == 1.0
    assert counts[("GPU-c", "unknown")] == 1.0
    assert counts[("GPU-a", "hardware")] == 0.0
    assert "GPU-c: Xid 79 (GPU has fallen off the bus, likely bad GPU)" in caplog.text
    hardware = next(
        s
        for s in samples
        if s.labels["uuid"] == "GPU-c" and s.labels.get("xid_class") == "hardware"
    )
    assert hardware.labels["name"] == "NVIDIA H100 80GB HBM3"
    assert nvml.pending_xids == []
    assert "register GPU-b" not in nvml.calls
    # Still counted 59 minutes later, gone once the hour has passed.
    later = xid_counts(await source.collect(NOW + timedelta(minutes=60)))
    assert later[("GPU-c", "hardware")] == 1.0
    gone = xid_counts(await source.collect(NOW + timedelta(minutes=61)))
    assert gone[("GPU-c", "hardware")] == 0.0


async def test_no_driver_is_skipped_and_said_once(caplog: pytest.LogCaptureFixture) -> None:
    nvml = FakeNvml([FakeGpu("GPU-a")], init_error=DRIVER_NOT_LOADED)
    source = GpuSource(nvml=nvml)
    with caplog.at_level(logging.WARNING, logger="bot.sources.gpu"):
        assert await source.collect(NOW) == []
        assert await source.collect(NOW) == []
    assert source.enabled is False
    assert nvml.calls == ["init"]
    assert [r.getMessage() for r in caplog.records] == [
        "no NVIDIA driver: GPU source skipped (NVML error 9)"
    ]
    await source.close()  # nothing to shut down
    assert nvml.calls == ["init"]


def test_load_nvml_without_the_library(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.sources.gpu"):
        assert load_nvml(None) is None
    assert "no NVIDIA driver: GPU source skipped" in caplog.text


async def test_lost_gpu_is_unavailable_and_close_shuts_down() -> None:
    nvml = FakeNvml([FakeGpu("GPU-a", util=-1)])
    source = GpuSource(nvml=nvml)
    with pytest.raises(SourceUnavailable, match="NVML failed: NVML error 15") as err:
        await source.collect(NOW)
    assert err.value.source == "gpu"
    await source.close()
    assert nvml.calls[-2:] == ["free", "shutdown"]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        *[(c, "application") for c in (13, 31, 43, 45)],
        *[(c, "hardware") for c in (48, 63, 64, 74, 79, 92, 94, 95)],
        (8, "unknown"),
        (119, "unknown"),
    ],
)
def test_classify_xid(code: int, kind: str) -> None:
    assert classify_xid(code) == kind
