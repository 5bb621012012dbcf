"""What the second act of ``vigil demo`` feeds Vigil: a retraining run and scored traffic.

The orchestrator is a stand-in that lives in this process (the demo reaches no network): it
answers Vigil's retraining follower as an Airflow DAG run would, queued, then running, then
success, so the real follower registers the run's version as a shadow. The traffic is what
a serving layer posts to ``/api/v1/models/{model}/predictions`` and ``/labels``: rows with
features, a prediction and its confidence, and the true labels later, drawn from a seeded
generator so that every run of the demo tells the same story. Each version is right on a
row with the accuracy the script gives its segment (``channel``), so the figures Vigil
prints come from counted rows, not from the script.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.quality.profile import ReferenceProfile, build_profile
from bot.retrain.adapters.base import Observed, RunRequest

Json = dict[str, Any]
CHANNELS = ("web", "app", "pos")
"""``pos``: card-present payments in shops, the segment the retrained model knows least."""


@dataclass
class StandInAirflow:
    """Answers like the Airflow DAG ``retrain_fraud``: each look moves the run one state on."""

    kind: str = "airflow"
    states: tuple[str, ...] = ("queued", "running", "running", "success")
    _seen: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        return "Airflow DAG retrain_fraud (the demo's stand-in, in this process)"

    async def submit(self, run: RunRequest) -> Observed:
        self._seen.setdefault(run.key, 0)
        return self._observed(run.key)

    async def observe(self, run: RunRequest, external_id: str | None) -> Observed:
        self._seen[run.key] = min(self._seen.get(run.key, 0) + 1, len(self.states) - 1)
        return self._observed(run.key)

    def _observed(self, key: str) -> Observed:
        state = self.states[self._seen[key]]
        if state == "success":
            return Observed(state, "succeeded", external_id=key)
        return Observed(state, "running", external_id=key)


@dataclass(frozen=True)
class Batch:
    """Scored rows of one version and their true labels (the same ids)."""

    rows: list[Json]
    labels: list[Json]


class Traffic:
    """Seeded requests: each call draws new ids, features and the true outcome."""

    def __init__(self, seed: int = 17) -> None:
        self._rng = np.random.default_rng(seed)
        self._next = 0

    def requests(self, n: int, channels: Mapping[str, float]) -> tuple[list[str], Json]:
        """``n`` request ids with their features and true labels (``channels``: shares)."""
        rng = self._rng
        ids = [f"tx{self._next + i}" for i in range(n)]
        self._next += n
        names = list(channels)
        shares = np.array([channels[c] for c in names], dtype=np.float64)
        drawn = rng.choice(len(names), n, p=shares / shares.sum())
        income = rng.normal(75.0, 10.0, n)
        age = rng.normal(40.0, 12.0, n)
        truth = np.where(rng.random(n) < 0.1, "fraud", "ok")
        return ids, {
            "channel": [names[k] for k in drawn],
            "income": income.tolist(),
            "age": age.tolist(),
            "truth": truth.tolist(),
            "chance": rng.random(n).tolist(),  # one draw per request, shared by versions
        }

    def scored(
        self, ids: list[str], facts: Json, version: str, accuracy: Mapping[str, float]
    ) -> Batch:
        """What ``version`` answers on these requests: right with its segment's accuracy.
        Versions share each request's draw, so two good versions mostly agree."""
        rows, labels = [], []
        for i, row_id in enumerate(ids):
            channel, truth = facts["channel"][i], facts["truth"][i]
            right = facts["chance"][i] < accuracy[channel]
            wrong = "ok" if truth == "fraud" else "fraud"
            rows.append(
                {
                    "id": row_id,
                    "version": version,
                    "features": {
                        "income": facts["income"][i],
                        "age": facts["age"][i],
                        "channel": channel,
                    },
                    "prediction": truth if right else wrong,
                    "confidence": round(accuracy[channel], 3),
                }
            )
            labels.append({"id": row_id, "label": truth})
        return Batch(rows, labels)


def reference_profile() -> ReferenceProfile:
    """The fresh data's profile, as ``vigil model reference`` stores it from a file."""
    traffic = Traffic(seed=1)
    ids, facts = traffic.requests(2_000, {"web": 0.6, "app": 0.35, "pos": 0.05})
    batch = traffic.scored(ids, facts, "ref", {"web": 0.93, "app": 0.93, "pos": 0.93})
    return build_profile(
        {k: [r["features"][k] for r in batch.rows] for k in ("income", "age", "channel")},
        prediction=[r["prediction"] for r in batch.rows],
        confidence=[r["confidence"] for r in batch.rows],
    )
