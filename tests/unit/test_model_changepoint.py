"""From rows to an alert: the monitor's pane test puts the inputs' change point on the
``input_drift_psi`` sample, and the bundled ``input-drift-psi`` rule fires on it on the
first minute of shifted rows, naming the feature that moved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from bot.monitoring.monitor import ModelMonitor
from bot.quality.profile import build_profile
from bot.quality.windows import WindowSpec
from bot.rules import EvalState, default_rules_file, evaluate, load_rules
from bot.rules.runner import group_samples
from bot.rules.sequential import CHANGE_FEATURES, CHANGE_ROWS, CHANGE_VALUE
from bot.sources.models import assessment_samples

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def rows(n: int, rng: np.random.Generator, start: int, shift: float = 0.0) -> list[dict[str, Any]]:
    income = rng.normal(55 + shift, 18, n)
    debt = rng.normal(0.35, 0.12, n)
    return [
        {
            "id": f"r{start + i}",
            "features": {"income": float(income[i]), "debt": float(debt[i])},
            "prediction": "approve" if income[i] > 50 else "decline",
            "confidence": 0.9,
        }
        for i in range(n)
    ]


def watching() -> ModelMonitor:
    rng = np.random.default_rng(0)
    income = rng.normal(55, 18, 20_000)
    reference = build_profile(
        {"income": income, "debt": rng.normal(0.35, 0.12, 20_000)},
        prediction=list(np.where(income > 50, "approve", "decline")),
        confidence=np.full(20_000, 0.9),
    )
    monitor = ModelMonitor(WindowSpec(rows=1_000))
    monitor.watch("credit", "v1", reference)
    return monitor


def test_a_shift_fires_input_drift_on_its_first_minute_naming_the_feature() -> None:
    rules = [r for r in load_rules([default_rules_file()]) if r.name == "input-drift-psi"]
    monitor = watching()
    rng = np.random.default_rng(1)
    state: EvalState | None = None
    fired: list[tuple[int, str]] = []
    notes: dict[int, dict[str, str]] = {}
    for minute in range(1, 21):
        now = T0 + minute * MIN
        shift = 18.0 if minute > 15 else 0.0  # one reference sd, from minute 16 on
        monitor.predictions("credit", {"rows": rows(100, rng, minute * 100, shift)}, now)
        samples = assessment_samples(monitor.assessment("credit", now), "v1", now)
        psi = [s for s in samples if s.metric == "input_drift_psi"]  # none under 200 rows
        notes[minute] = dict(psi[0].notes) if psi else {}
        state, changes = evaluate(rules, group_samples(samples), state, now)
        fired += [(minute, c.summary) for c in changes if c.status == "firing"]
    assert not any(CHANGE_ROWS in notes[m] for m in range(3, 16))  # reference-like: no change
    assert notes[16][CHANGE_ROWS] == "100"
    assert notes[17][CHANGE_ROWS] == "200"
    assert notes[16][CHANGE_FEATURES].startswith("income ")
    assert float(notes[16][CHANGE_VALUE]) > 0.2
    ((minute, summary),) = fired
    assert minute == 16
    assert "on the 100 rows since a change the monitor found: income" in summary
