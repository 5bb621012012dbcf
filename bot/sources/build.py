"""Build the configured sources from ``sources:`` settings; pushed samples are always one."""

from __future__ import annotations

from bot.sources.base import Source
from bot.sources.config import SourcesSettings
from bot.sources.gpu import GpuSource
from bot.sources.http import HttpCheck
from bot.sources.prometheus import PrometheusSource
from bot.sources.pushed import PushedSource
from bot.sources.system import CpuSource


def build_sources(settings: SourcesSettings, pushed: PushedSource) -> list[Source]:
    """The sources to poll, in a stable order: pushed, Prometheus, HTTP checks, host, GPU."""
    sources: list[Source] = [pushed]
    if settings.prometheus is not None:
        prom = settings.prometheus
        sources.append(PrometheusSource(prom.url, prom.queries, timeout_s=prom.timeout_s))
    for check in settings.http_checks:
        sources.append(
            HttpCheck(
                check.name,
                check.url,
                expect_status=check.expect_status,
                max_latency_ms=check.max_latency_ms,
                json_field=check.json_field,
                expect_value=check.expect_value,
                interval=settings.interval,
            )
        )
    if settings.system:
        sources.append(CpuSource())
    if settings.gpu:
        sources.append(GpuSource())
    return sources
