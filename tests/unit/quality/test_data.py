"""Row checks: bad rows rejected with a path, accepted rows coded, clean share as users see it."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from bot.quality.data import MAX_REPORTED, check_rows
from bot.quality.profile import ReferenceProfile, build_profile
from bot.quality.windows import ModelWindow, WindowSpec

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def profile() -> ReferenceProfile:
    return build_profile(
        {
            "age": np.linspace(18, 80, 63),
            "plan": ["basic", "pro", "basic"] * 21,
            "city": ["paris"] * 40 + ["lyon"] * 20 + ["nice", "metz", "caen"],
        },
        prediction=["yes", "no", "yes"] * 21,
        confidence=np.linspace(0.5, 1.0, 63),
        max_categories=2,  # city keeps paris and lyon; the tail is pooled
        bins=4,
    )


def _row(i: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": f"r{i}",
        "features": {"age": 30, "plan": "pro", "city": "paris"},
        "prediction": "yes",
        "confidence": 0.75,
    }
    features = changes.pop("features", {})
    row["features"].update(features)
    row.update(changes)
    return row


def test_good_rows_are_accepted_and_clean(profile: ReferenceProfile) -> None:
    result = check_rows([_row(0), _row(1, id=7)], profile)
    assert (result.received, result.accepted, result.clean) == (2, 2, 2)
    assert result.ids == ("r0", 7)
    assert result.quality == 1.0
    assert result.bad == ()
    assert result.batch.features["age"].tolist() == [30.0, 30.0]
    assert result.batch.prediction.tolist() == [0, 0]  # "yes" is the first class
    assert result.describe_rejections() == "no rows rejected"


def test_a_bad_row_does_not_drop_the_good_rows(profile: ReferenceProfile) -> None:
    rows = [_row(i) for i in range(5)]
    rows[3]["features"]["age"] = "thirty"
    result = check_rows(rows, profile)
    assert result.accepted == 4
    assert result.ids == ("r0", "r1", "r2", "r4")
    [bad] = result.bad
    assert (bad.index, bad.field, bad.kind) == (3, "rows[3].features.age", "wrong_type")
    assert str(bad) == "rows[3].features.age: must be a number, not string"
    assert result.quality == pytest.approx(4 / 5)  # the rejected row counts against it
    assert result.batch.rejected == 1
    assert result.reasons["wrong_type"] == 1
    assert result.describe_rejections() == (
        "1 row rejected: rows[3].features.age: must be a number, not string"
    )


def test_value_above_the_reference_max_is_accepted_but_not_clean(
    profile: ReferenceProfile,
) -> None:
    result = check_rows([_row(0, features={"age": 81}), _row(1, features={"age": 80})], profile)
    assert result.accepted == 2
    assert result.batch.clean.tolist() == [False, True]  # 80 is the max itself: inside
    assert result.reasons["out_of_range"] == 1
    assert result.feature_issues["age"].out_of_range == 1
    window = ModelWindow(profile, WindowSpec(rows=100))
    window.add_batch(result.batch, T0)
    counts = window.snapshot(T0).counts["age"].tolist()
    assert counts[-1] == 2  # 81 and 80 both land in the last bin


@pytest.mark.parametrize("missing", [None, math.nan])
def test_null_and_nan_count_as_missing(profile: ReferenceProfile, missing: object) -> None:
    result = check_rows([_row(0, features={"age": missing, "plan": None})], profile)
    assert result.accepted == 1
    assert result.clean == 0
    assert result.reasons["missing"] == 1
    assert result.feature_issues["age"].missing == 1
    assert result.feature_issues["plan"].missing == 1


def test_absent_feature_counts_as_missing(profile: ReferenceProfile) -> None:
    row = _row(0)
    del row["features"]["city"]
    result = check_rows([row], profile)
    assert (result.accepted, result.clean) == (1, 0)
    assert result.feature_issues["city"].missing == 1


def test_unseen_category_is_not_clean_only_when_the_reference_kept_every_category(
    profile: ReferenceProfile,
) -> None:
    result = check_rows(
        [_row(0, features={"plan": "enterprise"}), _row(1, features={"city": "brest"})],
        profile,
    )
    assert result.batch.clean.tolist() == [False, True]  # city had a pooled tail
    assert result.reasons["unknown_category"] == 1
    assert result.feature_issues["plan"].unknown_category == 1
    assert result.batch.features["plan"].tolist() == [2, 1]  # unseen bucket, then "pro"


def test_numbers_match_categories_by_canonical_string() -> None:
    profile = build_profile({"tier": [1, 2, 1, 2]}, kinds={"tier": "categorical"})
    rows = [
        {"id": i, "features": {"tier": v}, "prediction": 1} for i, v in enumerate([1, "2", 2.0])
    ]
    result = check_rows(rows, profile)
    assert result.batch.features["tier"].tolist() == [0, 1, 1]
    assert result.clean == 3


def test_unknown_features_are_reported_once_with_a_count(profile: ReferenceProfile) -> None:
    rows = [_row(i, features={"height": 180}) for i in range(3)] + [_row(3)]
    result = check_rows(rows, profile)
    assert result.accepted == 4
    assert result.unknown_features == {"height": 3}


@pytest.mark.parametrize(
    ("row", "field", "kind"),
    [
        ("not a row", "rows[0]", "not_object"),
        ({"features": {}, "prediction": "yes"}, "rows[0].id", "missing_field"),
        (_row(0, id=""), "rows[0].id", "wrong_type"),
        (_row(0, id=True), "rows[0].id", "wrong_type"),
        (_row(0, prediction=None), "rows[0].prediction", "missing_field"),
        (_row(0, prediction=[1]), "rows[0].prediction", "wrong_type"),
        (_row(0, prediction=math.inf), "rows[0].prediction", "invalid"),
        (_row(0) | {"features": None}, "rows[0].features", "missing_field"),
        (_row(0) | {"features": [1, 2]}, "rows[0].features", "wrong_type"),
        (_row(0, features={"age": True}), "rows[0].features.age", "wrong_type"),
        (_row(0, features={"age": math.inf}), "rows[0].features.age", "invalid"),
        (_row(0, features={"age": 10**400}), "rows[0].features.age", "invalid"),
        (_row(0, features={"plan": ["pro"]}), "rows[0].features.plan", "wrong_type"),
        (_row(0, confidence=1.5), "rows[0].confidence", "invalid"),
        (_row(0, confidence=math.nan), "rows[0].confidence", "invalid"),
        (_row(0, confidence="high"), "rows[0].confidence", "wrong_type"),
        (_row(0, timestamp="yesterday"), "rows[0].timestamp", "invalid"),
        (_row(0, timestamp="2026-11-24T12:00:00"), "rows[0].timestamp", "invalid"),
        (_row(0, timestamp=1_764_000_000_000), "rows[0].timestamp", "invalid"),
        (_row(0, timestamp=[2026]), "rows[0].timestamp", "wrong_type"),
    ],
)
def test_malformed_rows_are_rejected_with_their_field(
    profile: ReferenceProfile, row: object, field: str, kind: str
) -> None:
    result = check_rows([row, _row(1)], profile)
    assert result.accepted == 1
    [bad] = result.bad
    assert (bad.index, bad.field, bad.kind) == (0, field, kind)
    assert result.reasons[kind] == 1


def test_numeric_prediction_must_be_a_number() -> None:
    profile = build_profile({"x": [1.0, 2.0, 3.0]}, prediction=[0.5, 1.25, 2.75])
    rows = [{"id": 1, "features": {"x": 2}, "prediction": "high"}]
    [bad] = check_rows(rows, profile).bad
    assert str(bad) == "rows[0].prediction: must be a number, not string"


def test_odd_feature_names_are_quoted_in_the_path() -> None:
    profile = build_profile({"my-feature": [1.0, 2.0]})
    rows = [{"id": 1, "features": {"my-feature": "x"}, "prediction": 1}]
    [bad] = check_rows(rows, profile).bad
    assert bad.field == 'rows[0].features["my-feature"]'


def test_rejections_are_capped_but_counted(profile: ReferenceProfile) -> None:
    rows: list[object] = ["junk"] * 30 + [_row(30)]
    result = check_rows(rows, profile)
    assert len(result.bad) == MAX_REPORTED
    assert result.bad_total == 30
    assert result.accepted == 1
    assert result.describe_rejections().startswith("30 rows rejected: rows[0]: must be an object")


def test_timestamps_and_confidence_become_columns(profile: ReferenceProfile) -> None:
    rows = [
        _row(0, timestamp="2026-11-24T12:00:00Z"),
        _row(1, timestamp=T0.timestamp() + 60),
        _row(2, confidence=None),
    ]
    batch = check_rows(rows, profile).batch
    assert batch.timestamps is not None
    stamps = batch.timestamps.astype(datetime).tolist()
    assert stamps[:2] == [T0.replace(tzinfo=None), (T0 + timedelta(minutes=1)).replace(tzinfo=None)]
    assert np.isnat(batch.timestamps[2])
    assert batch.confidence is not None
    assert batch.confidence[:2].tolist() == [0.75, 0.75]
    assert math.isnan(batch.confidence[2])


def test_empty_post_has_no_quality(profile: ReferenceProfile) -> None:
    result = check_rows([], profile)
    assert (result.received, result.accepted) == (0, 0)
    assert result.quality is None
    assert result.batch.confidence is None
