"""The reference profile: hand-computable bins and counts, inference, errors, JSON round trip."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from bot.core.errors import ValidationError
from bot.quality.profile import (
    CategoricalProfile,
    NumericProfile,
    ReferenceProfile,
    build_profile,
    category_key,
)
from bot.quality.profile_dict import profile_from_dict, profile_to_dict


def _profile() -> ReferenceProfile:
    return build_profile(
        {
            "age": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, None],
            "plan": ["a", "b", "a", "c", None, "a", "b", "a", "b", "a", "c"],
        },
        prediction=["yes", "no", "yes", "yes", "no", "yes", "no", "yes", "yes", "no", "yes"],
        confidence=[0.9, 0.8, 0.7, 0.6, 0.5, 0.9, 0.8, 0.7, 0.6, 0.5, 1.0],
        importances={"age": 0.7, "plan": 0.3},
        bins=5,
    )


def test_numeric_feature_has_quantile_bins_and_summary_statistics() -> None:
    age = _profile().feature("age")
    assert isinstance(age, NumericProfile)
    # Quantiles 0.2 .. 0.8 of 1..10 (linear interpolation): 2.8, 4.6, 6.4, 8.2.
    assert age.edges == pytest.approx((2.8, 4.6, 6.4, 8.2))
    assert age.counts == (2, 2, 2, 2, 2)
    assert (age.min, age.max, age.mean) == (1.0, 10.0, 5.5)
    assert age.std == pytest.approx(math.sqrt(8.25))
    assert (age.n, age.missing) == (10, 1)
    assert age.missing_share == pytest.approx(1 / 11)


def test_categorical_feature_counts_categories_most_frequent_first() -> None:
    plan = _profile().feature("plan")
    assert isinstance(plan, CategoricalProfile)
    assert plan.categories == ("a", "b", "c")
    assert plan.counts == (5, 3, 2)
    assert (plan.other, plan.missing, plan.n) == (0, 1, 10)
    assert plan.complete
    assert plan.histogram == (5, 3, 2, 0)


def test_rare_categories_are_pooled_in_other_beyond_max_categories() -> None:
    profile = build_profile({"city": ["x"] * 5 + ["y"] * 3 + ["z", "w"]}, max_categories=2)
    city = profile.feature("city")
    assert isinstance(city, CategoricalProfile)
    assert city.categories == ("x", "y")
    assert city.other == 2
    assert not city.complete
    assert city.labels == ("x", "y", "__other__")


def test_prediction_and_confidence_are_profiled() -> None:
    profile = _profile()
    assert isinstance(profile.prediction, CategoricalProfile)
    assert profile.prediction.categories == ("yes", "no")
    assert profile.prediction.counts == (7, 4)
    assert isinstance(profile.confidence, NumericProfile)
    assert profile.confidence.max == 1.0
    assert profile.importances == {"age": 0.7, "plan": 0.3}


def test_kind_is_inferred_and_few_distinct_numbers_stay_numeric() -> None:
    profile = build_profile(
        {
            "flag": np.array([0, 1, 1, 0]),
            "code": [3, 3, 7, 3],
            "name": ["a", "b", "a", "b"],
            "forced": [1, 2, 1.0, 2],
        },
        kinds={"forced": "categorical"},
    )
    kinds = {f.name: f.kind for f in profile.features}
    assert kinds == {
        "flag": "numeric",
        "code": "numeric",
        "name": "categorical",
        "forced": "categorical",
    }
    forced = profile.feature("forced")
    assert isinstance(forced, CategoricalProfile)
    assert forced.categories == ("1", "2")  # 1 and 1.0 are one category


def test_category_keys_are_canonical_strings() -> None:
    assert category_key(1) == category_key(1.0) == category_key("1") == "1"
    assert category_key(True) == "true"
    assert category_key(2.5) == "2.5"
    assert category_key(None) is None
    assert category_key(float("nan")) is None


@pytest.mark.parametrize(
    ("prediction", "kind"),
    [
        (["cat", "dog", "cat"], "categorical"),
        ([0, 1, 1], "categorical"),
        ([True, False, True], "categorical"),
        ([0.25, 1.5, 3.75], "numeric"),
        (list(range(30)) * 1, "numeric"),
    ],
)
def test_prediction_kind_is_detected(prediction: list[object], kind: str) -> None:
    profile = build_profile({"x": list(range(len(prediction)))}, prediction=prediction)
    assert profile.prediction is not None
    assert profile.prediction.kind == kind


def test_prediction_kind_can_be_forced() -> None:
    profile = build_profile({"x": [1, 2, 3]}, prediction=[0, 1, 1], prediction_kind="numeric")
    assert isinstance(profile.prediction, NumericProfile)


@pytest.mark.parametrize(
    ("columns", "kwargs", "field"),
    [
        ({}, {}, "features"),
        ({"a": [1, 2], "b": [1, 2, 3]}, {}, "features.b"),
        ({"a": [1, 2]}, {"prediction": [1]}, "prediction"),
        ({"a": [1, 2], "empty": [None, float("nan")]}, {}, "features.empty"),
        ({"age": [1, "abc", 3]}, {"kinds": {"age": "numeric"}}, "features.age"),
        ({"age": [1, True, 3]}, {"kinds": {"age": "numeric"}}, "features.age"),
        ({"age": [1.0, math.inf]}, {}, "features.age"),
        ({"a": [1, 2]}, {"kinds": {"b": "numeric"}}, "kinds.b"),
        ({"a": [1, 2]}, {"kinds": {"a": "ordinal"}}, "kinds.a"),
        ({"a": [1, 2]}, {"confidence": [0.5, 1.5]}, "confidence"),
        ({"a": [1, 2]}, {"importances": {"b": 1.0}}, "importances.b"),
        ({"a": [1, 2]}, {"importances": {"a": math.nan}}, "importances.a"),
        ({"a": [[1], [2]]}, {}, "features.a"),
        ({"a": []}, {}, "features"),
    ],
)
def test_bad_reference_names_the_column(
    columns: dict[str, Any], kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        build_profile(columns, **kwargs)
    assert excinfo.value.field == field


def test_non_numeric_value_error_names_the_row() -> None:
    with pytest.raises(ValidationError, match=r"row 1 holds a string"):
        build_profile({"age": [1, "abc", 3]}, kinds={"age": "numeric"})


def test_profile_survives_a_json_round_trip() -> None:
    profile = _profile()
    text = json.dumps(profile_to_dict(profile))
    again = profile_from_dict(json.loads(text))
    assert again == profile
    assert json.dumps(profile_to_dict(again)) == text


def test_profile_without_prediction_round_trips() -> None:
    profile = build_profile({"x": np.linspace(0, 1, 50)})
    assert profile_from_dict(json.loads(json.dumps(profile_to_dict(profile)))) == profile


def _set(path: tuple[Any, ...], value: object) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _drop(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (_set(("version",), 2), "version"),
        (_drop(("n_rows",)), "n_rows"),
        (_set(("features",), []), "features"),
        (_drop(("features", 0, "counts")), "features[0].counts"),
        (_set(("features", 0, "counts"), [1, 2]), "features[0].counts"),
        (_set(("features", 0, "counts", 1), -1), "features[0].counts[1]"),
        (_set(("features", 0, "edges"), [3.0, 2.0, 5.0, 9.0]), "features[0].edges[1]"),
        (_set(("features", 0, "mean"), "high"), "features[0].mean"),
        (_set(("features", 0, "missing"), 7), "features[0].counts"),
        (_set(("features", 1, "kind"), "text"), "features[1].kind"),
        (_set(("features", 1, "categories"), ["a", "a", "c"]), "features[1].categories"),
        (_set(("features", 1, "name"), "age"), "features[1].name"),
        (_set(("prediction",), "yes"), "prediction"),
        (_set(("importances",), {"height": 1.0}), "importances.height"),
    ],
)
def test_corrupt_profile_dict_names_the_key(
    mutate: Callable[[dict[str, Any]], None], field: str
) -> None:
    data = copy.deepcopy(profile_to_dict(_profile()))
    mutate(data)
    with pytest.raises(ValidationError) as excinfo:
        profile_from_dict(data)
    assert excinfo.value.field == field


def test_profile_dict_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValidationError) as excinfo:
        profile_from_dict([1, 2])
    assert excinfo.value.field == "profile"


def test_number_too_large_for_a_float_is_refused() -> None:
    with pytest.raises(ValidationError) as excinfo:
        build_profile({"big": [1, 10**400]})
    assert excinfo.value.field == "features.big"
