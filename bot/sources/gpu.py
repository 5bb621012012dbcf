"""NVIDIA GPUs through NVML (``nvidia-ml-py``, imported as ``pynvml``).

Per device, labelled with its index, UUID and name: utilization, memory used, temperature,
volatile uncorrected ECC errors, retired pages (where the GPU has page retirement; newer
ones use row remapping and answer NotSupported, so the reading is omitted, not fatal), and
Xid events drained without blocking from an NVML event set.

Xid codes say who is at fault. ``classify_xid`` sorts them (after NVIDIA's Xid catalogue):

    application  13 graphics engine exception, 31 GPU memory page fault, 43 GPU stopped
                 processing (user app fault), 45 preemptive cleanup after a killed process
    hardware     48 double-bit ECC error, 63/64 ECC page retirement / row remapping event
                 or failure, 74 NVLink error, 79 GPU fell off the bus, 92 high single-bit
                 ECC rate, 94 contained / 95 uncontained ECC error
    unknown      everything else

Application Xids are the model server's problem; hardware Xids mean a likely bad GPU and
should page (rule ``gpu-xid-hardware``). Events are rare and bursty, so the source does not
emit one sample per event: every poll it reports, per device and class, how many Xids arrived
in the last ``xid_window`` (default 1 h), zeros included. The series therefore never goes
silent (no false "no data" alert), the alert fires on the poll that sees the first hardware
Xid, and it resolves by itself once an hour passes without one. Each event is also logged
with its code and meaning, which the counts cannot carry.

A host without the driver is normal (CPU-only nodes, CI): ``load_nvml`` says so once and
the source is skipped while the rest of Vigil runs. NVML calls block, so they run in a
worker thread, bounded by ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.sources.base import Sample, SourceUnavailable

log = logging.getLogger(__name__)

XidClass = Literal["application", "hardware", "unknown"]
APPLICATION_XIDS = frozenset({13, 31, 43, 45})
HARDWARE_XIDS = frozenset({48, 63, 64, 74, 79, 92, 94, 95})
XID_CLASSES: tuple[XidClass, ...] = ("application", "hardware", "unknown")
XID_MEANINGS = {
    13: "graphics engine exception",
    31: "GPU memory page fault",
    43: "GPU stopped processing",
    45: "preemptive cleanup",
    48: "double-bit ECC error",
    63: "ECC page retirement or row remapping",
    64: "ECC page retirement or row remapping failure",
    74: "NVLink error",
    79: "GPU has fallen off the bus",
    92: "high single-bit ECC error rate",
    94: "contained ECC error",
    95: "uncontained ECC error",
}
DEFAULT_XID_WINDOW = timedelta(hours=1)
_MAX_EVENTS_PER_POLL = 256


def classify_xid(code: int) -> XidClass:
    """Who caused Xid ``code``: the application, the hardware, or we do not know."""
    if code in APPLICATION_XIDS:
        return "application"
    if code in HARDWARE_XIDS:
        return "hardware"
    return "unknown"


def _real_nvml() -> Any | None:
    """The real ``pynvml``, or None on a slim install without it.

    Imported here, when a GPU source first polls, not with this module: the sources are
    built on every start, and a host without GPUs (most) need not load NVML's bindings."""
    try:
        import pynvml
    except ImportError:  # pragma: no cover - nvidia-ml-py is a dependency; guard for slim installs
        return None
    return pynvml


def load_nvml(nvml: Any = None) -> Any | None:
    """``nvml`` initialised, or None (logged once) when there is no library or driver."""
    if nvml is None:
        log.warning("no NVIDIA driver: GPU source skipped (pynvml is not installed)")
        return None
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        log.warning("no NVIDIA driver: GPU source skipped (%s)", exc)
        return None
    return nvml


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class GpuSource:
    """Samples for every NVIDIA GPU on this host; skipped when NVML cannot start.

    ``nvml`` is the module to use (tests pass a fake); by default the real ``pynvml``.
    Start-up (``nvmlInit``, event registration) happens on the first ``collect``.
    """

    def __init__(
        self,
        nvml: Any = None,
        *,
        timeout_s: float = 5.0,
        name: str = "gpu",
        xid_window: timedelta = DEFAULT_XID_WINDOW,
    ) -> None:
        self._module = nvml  # None: the real pynvml, imported on the first collect
        self._xid_window = xid_window
        self._xid_log: deque[tuple[datetime, str, XidClass]] = deque()
        self._xid_devices: set[str] = set()  # UUIDs whose Xid events we receive
        self._nvml: Any | None = None
        self._started = False
        self._events: Any | None = None
        self._timeout_s = timeout_s
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def enabled(self) -> bool | None:
        """None before the first collect, then whether NVML started."""
        return self._nvml is not None if self._started else None

    async def collect(self, now: datetime) -> list[Sample]:
        try:
            async with asyncio.timeout(self._timeout_s):
                if not self._started:
                    await asyncio.to_thread(self._start)
                if self._nvml is None:
                    return []
                return await asyncio.to_thread(self._read, now)
        except TimeoutError:
            raise SourceUnavailable(
                f"NVML did not answer within {self._timeout_s:g}s", source=self._name
            ) from None

    async def close(self) -> None:
        """Free the event set and shut NVML down (safe to call when it never started)."""
        nvml = self._nvml
        if nvml is None:
            return
        await asyncio.to_thread(self._shutdown, nvml)
        self._nvml, self._events = None, None

    def _shutdown(self, nvml: Any) -> None:
        if self._events is not None:
            nvml.nvmlEventSetFree(self._events)
        nvml.nvmlShutdown()

    def _start(self) -> None:
        self._started = True
        self._nvml = nvml = load_nvml(self._module if self._module is not None else _real_nvml())
        if nvml is None:
            return
        try:
            events = nvml.nvmlEventSetCreate()
        except nvml.NVMLError as exc:
            log.info("GPU Xid events unavailable: %s", exc)
            return
        registered = 0
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            try:
                nvml.nvmlDeviceRegisterEvents(handle, nvml.nvmlEventTypeXidCriticalError, events)
                self._xid_devices.add(_text(nvml.nvmlDeviceGetUUID(handle)))
                registered += 1
            except nvml.NVMLError as exc:
                log.info("GPU %d: Xid events unavailable: %s", index, exc)
        if registered:
            self._events = events
        else:
            nvml.nvmlEventSetFree(events)

    def _read(self, now: datetime) -> list[Sample]:
        nvml = self._nvml
        assert nvml is not None
        try:
            samples: list[Sample] = []
            labels_by_uuid: dict[str, dict[str, str]] = {}
            for index in range(nvml.nvmlDeviceGetCount()):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                labels = {
                    "gpu": str(index),
                    "uuid": _text(nvml.nvmlDeviceGetUUID(handle)),
                    "name": _text(nvml.nvmlDeviceGetName(handle)),
                }
                labels_by_uuid[labels["uuid"]] = labels
                samples += [Sample(m, v, labels, now) for m, v in self._device(handle)]
            samples += self._xids(labels_by_uuid, now)
        except nvml.NVMLError as exc:
            raise SourceUnavailable(f"NVML failed: {exc}", source=self._name) from exc
        return samples

    def _device(self, handle: Any) -> list[tuple[str, float]]:
        nvml = self._nvml
        assert nvml is not None
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        readings = [
            ("gpu_utilization", nvml.nvmlDeviceGetUtilizationRates(handle).gpu / 100.0),
            ("gpu_memory_utilization", memory.used / memory.total if memory.total else 0.0),
            (
                "gpu_temperature_c",
                float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)),
            ),
        ]
        optional: list[tuple[str, Callable[[], Any]]] = [
            (
                "gpu_ecc_uncorrected_volatile",
                lambda: nvml.nvmlDeviceGetTotalEccErrors(
                    handle, nvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, nvml.NVML_VOLATILE_ECC
                ),
            ),
            (
                "gpu_retired_pages_pending",
                lambda: int(
                    nvml.nvmlDeviceGetRetiredPagesPendingStatus(handle) == nvml.NVML_FEATURE_ENABLED
                ),
            ),
            (
                "gpu_retired_pages_single_bit",
                lambda: len(
                    nvml.nvmlDeviceGetRetiredPages(
                        handle, nvml.NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS
                    )
                ),
            ),
            (
                "gpu_retired_pages_double_bit",
                lambda: len(
                    nvml.nvmlDeviceGetRetiredPages(
                        handle, nvml.NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR
                    )
                ),
            ),
        ]
        for metric, read in optional:
            try:
                readings.append((metric, float(read())))
            except nvml.NVMLError as exc:
                if getattr(exc, "value", None) != nvml.NVML_ERROR_NOT_SUPPORTED:
                    raise
        return readings

    def _xids(self, labels_by_uuid: dict[str, dict[str, str]], now: datetime) -> list[Sample]:
        """Drain pending Xid events (wait 0 ms); count each device's per class in the window."""
        nvml = self._nvml
        if nvml is None or self._events is None:
            return []
        for _ in range(_MAX_EVENTS_PER_POLL):
            try:
                event = nvml.nvmlEventSetWait(self._events, 0)
            except nvml.NVMLError as exc:
                if getattr(exc, "value", None) == nvml.NVML_ERROR_TIMEOUT:
                    break  # nothing (more) pending
                raise
            if event.eventType != nvml.nvmlEventTypeXidCriticalError:
                continue
            uuid, code = _text(nvml.nvmlDeviceGetUUID(event.device)), int(event.eventData)
            kind = classify_xid(code)
            log.warning(
                "%s: Xid %d (%s, %s)",
                uuid,
                code,
                XID_MEANINGS.get(code, "see NVIDIA's Xid catalogue"),
                "likely bad GPU" if kind == "hardware" else f"{kind} cause",
            )
            self._xid_log.append((now, uuid, kind))
        while self._xid_log and self._xid_log[0][0] <= now - self._xid_window:
            self._xid_log.popleft()
        counts = Counter((uuid, kind) for _, uuid, kind in self._xid_log)
        return [
            Sample("gpu_xid_errors", float(counts[uuid, kind]), {**labels, "xid_class": kind}, now)
            for uuid, labels in labels_by_uuid.items()
            if uuid in self._xid_devices  # no events from it: a zero would be a false all-clear
            for kind in XID_CLASSES
        ]
