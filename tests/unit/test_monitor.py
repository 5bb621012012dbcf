"""The model monitor: rows in, drift / quality / accuracy samples out, labels joined by id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from bot.core.errors import NotFoundError, ValidationError
from bot.monitoring.monitor import ModelMonitor
from bot.quality.profile import build_profile
from bot.quality.windows import WindowSpec
from bot.sources.models import ModelQualitySource, assessment_samples

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def reference(n: int = 4000, seed: int = 0) -> Any:
    rng = np.random.default_rng(seed)
    income = rng.normal(55, 18, n)
    region = rng.choice(["north", "south", "east"], n)
    score = 1 / (1 + np.exp(-(income - 55) / 8))
    prediction = np.where(score >= 0.5, "approve", "decline")
    return build_profile(
        {"income": income, "region": region},
        prediction=list(prediction),
        confidence=np.maximum(score, 1 - score),
        importances={"income": 0.8, "region": 0.2},
    )


def rows(n: int, *, shift: float = 0.0, seed: int = 1, start: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    income = rng.normal(55 + shift, 18, n)
    score = 1 / (1 + np.exp(-(income - 55) / 8))
    return [
        {
            "id": f"r{start + i}",
            "features": {"income": float(income[i]), "region": ["north", "south", "east"][i % 3]},
            "prediction": "approve" if score[i] >= 0.5 else "decline",
            "confidence": float(max(score[i], 1 - score[i])),
        }
        for i in range(n)
    ]


def watching() -> ModelMonitor:
    monitor = ModelMonitor(WindowSpec(rows=1000))
    monitor.watch("credit", "v7", reference())
    return monitor


def by_metric(monitor: ModelMonitor) -> dict[str, Any]:
    a = monitor.assessment("credit", NOW)
    return {s.metric: s for s in assessment_samples(a, "v7", NOW)}


def test_an_unshifted_stream_shows_no_drift_and_a_clean_score() -> None:
    monitor = watching()
    monitor.predictions("credit", {"rows": rows(1000)}, NOW)
    samples = by_metric(monitor)
    assert samples["input_drift_psi"].value < 0.1
    assert samples["data_quality_score"].value > 0.95
    assert dict(samples["input_drift_psi"].labels) == {"model": "credit", "model_version": "v7"}
    assert samples["accuracy_estimated"].value == pytest.approx(
        samples["prediction_confidence_mean"].value
    )


def test_a_shifted_feature_drives_psi_past_the_rule_and_is_named() -> None:
    monitor = watching()
    monitor.predictions("credit", {"rows": rows(1000, shift=25)}, NOW)
    psi = by_metric(monitor)["input_drift_psi"]
    assert psi.value > 0.2
    assert psi.notes["top"].startswith("income ")
    assert "top drift (PSI): income" in psi.notes["detail"]


def test_too_few_rows_yield_no_drift_sample_rather_than_noise() -> None:
    monitor = watching()
    monitor.predictions("credit", {"rows": rows(50, shift=25)}, NOW)
    assert "input_drift_psi" not in by_metric(monitor)


def test_bad_rows_are_reported_and_count_against_quality_without_dropping_good_ones() -> None:
    monitor = watching()
    batch = rows(400)
    batch[3]["features"]["income"] = "lots"
    batch[5] = "not a row"  # type: ignore[call-overload]
    check = monitor.predictions("credit", {"rows": batch}, NOW).check
    assert check.accepted == 398
    assert check.bad_total == 2
    assert "rows[3].features.income" in check.describe_rejections()
    assert by_metric(monitor)["data_quality_score"].value <= 398 / 400


def test_labels_join_by_id_and_realized_accuracy_appears() -> None:
    monitor = watching()
    batch = rows(200)
    monitor.predictions("credit", {"rows": batch}, NOW)
    labels = [
        {"id": r["id"], "label": r["prediction"] if i % 4 else "wrong"} for i, r in enumerate(batch)
    ]
    result = monitor.labels("credit", {"rows": [*labels, {"id": "nope", "label": "approve"}]})
    assert (result.matched, result.unknown_total, result.unknown) == (200, 1, ("nope",))
    accuracy = by_metric(monitor)["accuracy"]
    assert accuracy.value == pytest.approx(0.75)
    assert accuracy.notes["detail"] == "200 labelled rows"
    realized = monitor.realized("credit")
    assert realized is not None
    samples = by_metric(monitor)
    for metric in ("precision", "recall", "f1"):
        assert samples[metric].value == pytest.approx(getattr(realized, metric))
    # A label is used once: posting it again matches nothing.
    assert monitor.labels("credit", {"rows": labels[:1]}).matched == 0


def test_realized_accuracy_is_over_the_labels_of_the_newest_predictions_only() -> None:
    monitor = ModelMonitor(WindowSpec(rows=1_000), label_window=100)
    monitor.watch("credit", "v1", reference())
    batch = rows(200)
    monitor.predictions("credit", {"rows": batch[:100]}, NOW - timedelta(minutes=1))
    monitor.predictions("credit", {"rows": batch[100:]}, NOW)
    wrong_then_right = [
        {"id": r["id"], "label": "wrong" if i < 100 else r["prediction"]}
        for i, r in enumerate(batch)
    ]
    monitor.labels("credit", {"rows": wrong_then_right})
    realized = monitor.realized("credit")
    assert realized is not None
    assert (realized.n, realized.accuracy) == (100, 1.0)  # the older minute's wrong ones: out


def test_pushed_importances_give_rank_stability() -> None:
    monitor = watching()
    body = {"rows": rows(300), "importances": {"income": 0.1, "region": 0.9}}
    monitor.predictions("credit", body, NOW)
    tau = by_metric(monitor)["feature_importance_rank_corr"]
    assert tau.value == pytest.approx(-1.0)
    assert "income fell from rank 1 to rank 2" in tau.notes["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "rows"),
        ({"rows": []}, "rows"),
        ({"rows": "x"}, "rows"),
        ({"rows": [{"id": "a"}], "extra": 1}, "extra"),
        ({"rows": rows(1), "importances": {"height": 1}}, "importances.height"),
        ({"rows": rows(1), "importances": {"income": "high"}}, "importances.income"),
    ],
)
def test_a_malformed_post_names_the_field_and_changes_nothing(
    body: dict[str, Any], field: str
) -> None:
    monitor = watching()
    with pytest.raises(ValidationError) as caught:
        monitor.predictions("credit", body, NOW)
    assert caught.value.field == field
    assert monitor.assessment("credit", NOW).n_received == 0


def test_malformed_labels_refuse_the_whole_post() -> None:
    monitor = watching()
    monitor.predictions("credit", {"rows": rows(10)}, NOW)
    with pytest.raises(ValidationError) as caught:
        monitor.labels("credit", {"rows": [{"id": "r0", "label": "approve"}, {"id": "r1"}]})
    assert caught.value.field == "rows[1].label"
    assert monitor.realized("credit") is None


def test_a_model_without_reference_says_how_to_add_one() -> None:
    with pytest.raises(NotFoundError, match="vigil model reference fraud FILE"):
        watching().predictions("fraud", {"rows": rows(1)}, NOW)


async def test_the_source_polls_every_watched_model() -> None:
    monitor = watching()
    monitor.predictions("credit", {"rows": rows(1000, shift=25)}, NOW)
    samples = await ModelQualitySource(monitor).collect(NOW + timedelta(seconds=1))
    assert {s.labels["model"] for s in samples} == {"credit"}
    assert "input_drift_psi" in {s.metric for s in samples}


def test_the_estimates_words_follow_the_labels_not_the_rule_name() -> None:
    # An alert said "estimated accuracy (no labels yet)" after 600 labels had arrived.
    monitor = watching()
    scored = rows(1000, shift=25)
    monitor.predictions("credit", {"rows": scored}, NOW)
    before = by_metric(monitor)["accuracy_estimated"].notes["detail"]
    assert before.startswith("estimated from confidence, 95% interval ")
    assert before.endswith("; too few labels yet to measure it")
    truth = [{"id": r["id"], "label": r["prediction"]} for r in scored[:600]]
    monitor.labels("credit", {"rows": truth})
    after = by_metric(monitor)["accuracy_estimated"].notes["detail"]
    assert after.endswith("; measured on labels: 100.00% over 600 rows"), after
