"""When to retrain: the K-of-N drift windows, the cooldown, one run in flight, the dedup key.
Pure: no clock of its own, no I/O; the service feeds it what it read.

A *window* is a fixed slice of time (``drift.window`` long, aligned on the epoch in UTC),
not the monitor's sliding window: overlapping looks at the same rows would count one shift
many times, so K of N would mean "one drifted stretch, seen K times". A window drifted when
most of the polls that fell in it saw drift (one noisy poll does not make it); a window with
no poll (too few rows, Vigil down) did not drift: no evidence is not evidence of drift.

The dedup key names *why* a run exists (model, trigger, window), not when it was sent, so
the same decision made again (the next poll in the same window, a retried submit, a
restart) yields the same key: the runs table refuses a second row with it, and the
orchestrator, which receives it as its idempotency key, refuses a second run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bot.rules.effective import threshold_for
from bot.rules.schema import Rule, Series, holds

Trigger = Literal["drift", "schedule", "manual"]
Phase = Literal["pending", "running", "succeeded", "failed", "handed_off"]

IN_FLIGHT: frozenset[str] = frozenset({"pending", "running"})
"""Phases of a run not over yet: a model has at most one run in one of them."""

KEY_MAX = 250  # Airflow's dag_run_id column is 250 characters
_UNSAFE = re.compile(r"[^A-Za-z0-9_.~:+-]+")  # what Airflow accepts in a run id


def window_start(at: datetime, window: timedelta) -> datetime:
    """The start of the ``window``-long slice (epoch-aligned, UTC) that ``at`` falls in."""
    seconds = window.total_seconds()
    index = int(at.timestamp() // seconds)
    return datetime.fromtimestamp(index * seconds, UTC)


def stamp(at: datetime) -> str:
    """``20260105T030000Z``: a time as a key part (no character an orchestrator refuses)."""
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def dedup_key(model: str, trigger: Trigger, window: str) -> str:
    """``vigil:fraud-scorer:drift:20260105T030000Z``: stable for one decision.

    Characters Airflow refuses in a run id become ``-``, runs of ``_`` are folded (Airflow
    reserves ``__``), and a key longer than 250 characters is cut."""
    raw = f"vigil:{model}:{trigger}:{window}"
    safe = re.sub(r"_{2,}", "_", _UNSAFE.sub("-", raw))
    return safe[:KEY_MAX]


@dataclass
class _Window:
    polls: int = 0
    drifted: int = 0

    @property
    def drift(self) -> bool:
        return self.drifted * 2 > self.polls


@dataclass
class DriftWindows:
    """One model's recent windows, enough to answer "K of the last N drifted?"."""

    window: timedelta
    of: int
    drifted: int
    _seen: dict[datetime, _Window] = field(default_factory=dict)

    def observe(self, at: datetime, drifted: bool) -> None:
        """Count one poll's verdict into its window; windows older than N are dropped."""
        start = window_start(at, self.window)
        slot = self._seen.setdefault(start, _Window())
        slot.polls += 1
        slot.drifted += int(drifted)
        oldest = start - self.window * (self.of - 1)
        for old in [w for w in self._seen if w < oldest]:
            del self._seen[old]

    def count(self, now: datetime) -> int:
        """How many of the last ``of`` windows (the current one included) drifted."""
        start = window_start(now, self.window)
        oldest = start - self.window * (self.of - 1)
        return sum(1 for w, s in self._seen.items() if oldest <= w <= start and s.drift)

    def due(self, now: datetime) -> datetime | None:
        """The current window's start when K of the last N drifted (it names the run)."""
        current = self._seen.get(window_start(now, self.window))
        if current is None or not current.drift or self.count(now) < self.drifted:
            return None
        return window_start(now, self.window)


def drifted(values: Iterable[tuple[str, float]], *, psi: float, kl: float) -> bool | None:
    """Did this poll see drift? ``values``: (metric, value) of one model's samples. None
    when the poll judged no drift at all (too few rows): that is no verdict."""
    verdict: bool | None = None
    for metric, value in values:
        if metric == "input_drift_psi":
            verdict = bool(verdict) or value > psi
        elif metric == "output_drift_kl":
            verdict = bool(verdict) or value > kl
    return verdict


HOLDING = frozenset({"label_disagreement_ratio", "label_health_score"})
"""The label-health readings that hold automatic retraining: a label source copying the
predictions (a feedback loop) and noisy labels. A model retrained on such labels learns its
own mistakes back, or the noise; input drift and a late or sparse label feed do not hold it."""


def bad_labels(
    samples: Iterable[tuple[str, float, Mapping[str, str], str]],
    rules: Sequence[Rule],
    models: Mapping[str, Any],
) -> list[str]:
    """The details of one model's readings of a poll, (metric, value, labels, detail), that
    hold its automatic retraining: each reading of ``HOLDING`` judged by the rule that
    watches it (``rules/default.yaml`` label-feedback-loop and label-noise, or the user's
    version of them), at that rule's threshold for this model (``threshold_from:
    model.label_copying_ratio`` / ``model.label_health_floor``). So the hold and the
    label-health alert read the same line: a team that moves a threshold, for one model or
    all, moves both, and a rule turned off holds nothing. The hold does not wait the rule's
    ``for:``: retraining is held from the first poll that reads bad labels."""
    worst: list[str] = []
    for metric, value, labels, detail in samples:
        if metric not in HOLDING:
            continue
        series = Series(metric, tuple(sorted(labels.items())))
        for rule in rules:
            if not rule.enabled or rule.kind != "threshold" or not rule.watches(series):
                continue
            limit = threshold_for(rule, labels, models=models)
            if limit is not None and holds(rule.op, value, limit):
                worst.append(detail or f"{metric} {value:g} (rule {rule.name})")
                break
    return worst


def label_refusal(worst: Sequence[str]) -> str | None:
    """Why automatic retraining must wait for the labels (None: they look sound), from the
    details :func:`bad_labels` found."""
    if not worst:
        return None
    return (
        f"label health is bad ({'; '.join(worst)}): retraining on these labels would teach "
        "the model its own mistakes. Fix the label feed first, or retrain by hand with "
        "/incident retrain N"
    )


@dataclass(frozen=True)
class PastRun:
    """What the decision needs of one earlier run of the model."""

    key: str
    phase: str
    requested_at: datetime
    finished_at: datetime | None


def refusal(
    runs: Sequence[PastRun], now: datetime, *, cooldown: timedelta, trigger: Trigger
) -> str | None:
    """Why no run may start now (None: it may). One run in flight at a time, whoever asks;
    after a run ends, automatic triggers wait ``cooldown`` so the version it made can be
    judged (in shadow, then canary) before the same evidence asks again. A person's
    ``/incident retrain`` is not held by the cooldown: they asked, knowing."""
    for run in runs:
        if run.phase in IN_FLIGHT:
            return f"run {run.key} is still {run.phase}"
    if trigger == "manual":
        return None
    ends = [r.finished_at or r.requested_at for r in runs]
    if ends:
        last = max(ends)
        if now < last + cooldown:
            return f"cooling down until {stamp(last + cooldown)} (the last run ended {stamp(last)})"
    return None


def version_name(requested_at: datetime, run_id: int) -> str:
    """The version a run is asked to produce: ``rt-20260105T030000Z-12``. Vigil names it
    (the orchestrator receives it) so that a finished run says which version to register."""
    return f"rt-{stamp(requested_at)}-{run_id}"
