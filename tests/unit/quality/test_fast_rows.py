"""The columnar row check agrees with the row-by-row one on every input, tricky ones first.

``check_rows`` reads each field for all rows at once and sends only the rows that fail that
reading to the exact per-row checks. A user must not be able to tell: the same rows
accepted, the same values counted, the same rejections with the same messages. The oracle
is the row-by-row ``check_rows`` of before (tests/unit/quality/rows_oracle.py).
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest

from bot.quality.batch import MISSING, category_codes
from bot.quality.data import RowCheck, check_rows
from bot.quality.profile import CategoricalProfile, ReferenceProfile, build_profile
from tests.unit.quality.rows_oracle import row_by_row


def _profile(prediction: str) -> ReferenceProfile:
    rng = np.random.default_rng(0)
    scores = rng.uniform(0, 1, 200)
    return build_profile(
        {
            "age": rng.uniform(18, 80, 200),
            "income": rng.normal(50, 10, 200),
            "plan": rng.choice(["basic", "pro"], 200).tolist(),
            "city": rng.choice(["paris", "lyon", "nice"], 200).tolist(),
        },
        prediction=scores if prediction == "numeric" else (scores > 0.5).tolist(),
        prediction_kind=prediction,
        confidence=rng.uniform(0.5, 1, 200),
    )


PROFILES = {kind: _profile(kind) for kind in ("numeric", "categorical")}

GOOD: dict[str, Any] = {
    "id": "r",
    "features": {"age": 30.5, "income": 51, "plan": "pro", "city": "paris"},
    "prediction": 0.75,
    "confidence": 0.8,
}
# One value at a time, put into a good row where it can be the row's only problem.
ODD_VALUES: list[Any] = [
    None, True, False, 0, 1, -3, 2**63, -(2**63) - 1, 10**400, 1e308, math.nan, math.inf,
    -math.inf, "", "  ", "x", "7", "1.5", "true", "2026-11-24T21:23:33Z",
    "2026-11-24T21:23:33", "2026-11-24T21:23:33+02:00", "soon", 1_764_019_413,
    1_764_019_413_000, 1.5e9, 0.5, 1.0, 1.0000001, -0.1, [], [1], {}, {"a": 1},
    np.float64(0.5), np.int64(3), np.bool_(True), "lyon", "metz", "yes", "no",
    "x" * 200, "x" * 201, 10**199, 10**200, -(10**199),
]  # fmt: skip
FIELDS = ["id", "prediction", "confidence", "timestamp", "features"]
FEATURES = ["age", "income", "plan", "city"]


def _odd_rows(seed: int, n: int) -> list[Any]:
    """Good rows with, now and then, one or more odd values, missing or extra keys."""
    rand = random.Random(seed)
    rows: list[Any] = []
    for i in range(n):
        row: dict[str, Any] = {**GOOD, "id": rand.choice([f"r{i}", i]), "features": {}}
        row["features"] = dict(GOOD["features"])
        row["prediction"] = rand.choice([0.75, 0.1, 3, "yes", True, "no"])
        for _ in range(rand.choice([0, 0, 0, 1, 2])):
            where = rand.choice(FIELDS + FEATURES * 2 + ["drop", "extra", "row"])
            value = rand.choice(ODD_VALUES)
            features = row.get("features")
            features = features if isinstance(features, dict) else {}
            if where in FEATURES:
                features[where] = value
            elif where == "drop":
                key = rand.choice(FIELDS + FEATURES)
                row.pop(key, None)
                features.pop(key, None)
            elif where == "extra":
                features[rand.choice(["zip", "age2", "Plan"])] = value
            elif where == "row":
                row = value  # type: ignore[assignment]  # not an object, or an empty one
                break
            else:
                row[where] = value
        rows.append(row)
    return rows


def _same(fast: RowCheck, slow: RowCheck) -> None:
    assert fast.ids == slow.ids
    assert [type(i) for i in fast.ids] == [type(i) for i in slow.ids]
    assert fast.positions == slow.positions
    assert (fast.received, fast.bad_total, fast.bad) == (slow.received, slow.bad_total, slow.bad)
    assert dict(fast.reasons) == dict(slow.reasons)
    assert dict(fast.feature_issues) == dict(slow.feature_issues)
    assert dict(fast.unknown_features) == dict(slow.unknown_features)
    a, b = fast.batch, slow.batch
    assert a.rejected == b.rejected
    assert a.features.keys() == b.features.keys()
    for name in a.features:
        np.testing.assert_array_equal(a.features[name], b.features[name])
        assert a.features[name].dtype == b.features[name].dtype
    np.testing.assert_array_equal(a.prediction, b.prediction)
    np.testing.assert_array_equal(a.clean, b.clean)
    for x, y in ((a.confidence, b.confidence), (a.timestamps, b.timestamps)):
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("kind", ["numeric", "categorical"])
@pytest.mark.parametrize("field", [*FIELDS, *(f"features.{f}" for f in FEATURES)])
def test_each_odd_value_in_each_field_is_judged_as_row_by_row(kind: str, field: str) -> None:
    rows: list[Any] = []
    for value in ODD_VALUES:
        row = {**GOOD, "features": dict(GOOD["features"]), "id": f"r{len(rows)}"}
        if field.startswith("features."):
            row["features"][field.removeprefix("features.")] = value
        else:
            row[field] = value
        rows += [row, {**GOOD, "id": f"ok{len(rows)}"}]
    _same(check_rows(rows, PROFILES[kind]), row_by_row(rows, PROFILES[kind]))


@pytest.mark.parametrize("kind", ["numeric", "categorical"])
@pytest.mark.parametrize("seed", range(12))
def test_random_posts_of_odd_rows_are_judged_as_row_by_row(kind: str, seed: int) -> None:
    rows = _odd_rows(seed, 300)
    _same(check_rows(rows, PROFILES[kind]), row_by_row(rows, PROFILES[kind]))


@pytest.mark.parametrize("kind", ["numeric", "categorical"])
def test_posts_of_one_shape_are_judged_as_row_by_row(kind: str) -> None:
    """Whole columns alike take the fast reading: all ints, all timestamps, all missing."""
    profile = PROFILES[kind]
    base = [{**GOOD, "id": i, "features": dict(GOOD["features"])} for i in range(50)]
    posts: list[list[Any]] = [
        [],
        base,
        [{**r, "timestamp": 1_764_019_413 + r["id"] * 0.5} for r in base],
        [{**r, "timestamp": f"2026-11-24T21:23:{r['id']:02d}+01:00"} for r in base],
        [{**r, "confidence": None} for r in base],
        [{**r, "confidence": 1} for r in base],
        [{**r, "features": {}} for r in base],
        [{**r, "features": {"age": None, "plan": None}} for r in base],
        [{**r, "features": {**r["features"], "zip": "75001"}} for r in base],
        [{**r, "id": f"r{r['id']}", "prediction": "yes"} for r in base],
        [{**r, "prediction": r["id"]} for r in base],
    ]
    for rows in posts:
        _same(check_rows(rows, profile), row_by_row(rows, profile))


def test_a_one_feature_profile_reads_its_column() -> None:
    profile = build_profile({"age": np.linspace(18, 80, 63)}, prediction=["a", "b", "c"] * 21)
    rows = [{"id": i, "features": {"age": 20 + i}, "prediction": "a"} for i in range(5)]
    _same(check_rows(rows, profile), row_by_row(rows, profile))
    assert check_rows(rows, profile).batch.features["age"].tolist() == [20, 21, 22, 23, 24]


def test_category_codes_are_the_kept_index_other_or_missing() -> None:
    spec = PROFILES["numeric"].feature("city")
    assert isinstance(spec, CategoricalProfile)
    values = [*spec.categories, "metz", None, 3, True]
    expected = [*range(len(spec.categories)), len(spec.categories), MISSING] + [
        len(spec.categories)
    ] * 2
    assert category_codes(spec, values).tolist() == expected
    assert category_codes(spec, np.array(["lyon", "x"])).dtype == np.int64


def test_an_id_or_a_class_too_long_to_store_rejects_its_row_alone() -> None:
    """Ids and predicted classes are stored to join the labels, in 200-character columns:
    a longer one is that row's error, named, and the other rows are counted."""
    rows = [
        {**GOOD, "id": "a" * 200, "prediction": "yes"},
        {**GOOD, "id": "b" * 201, "prediction": "yes"},
        {**GOOD, "id": 10**200, "prediction": "yes"},
        {**GOOD, "id": "c", "prediction": "p" * 201},
    ]
    check = check_rows(rows, PROFILES["categorical"])
    assert check.ids == ("a" * 200,)
    assert [(b.field, b.reason) for b in check.bad] == [
        ("rows[1].id", "must be at most 200 characters"),
        ("rows[2].id", "must be at most 200 characters"),
        ("rows[3].prediction", "must be at most 200 characters"),
    ]
