"""A reference profile to and from plain JSON, checked key by key on the way back in.

Profiles live in the database as JSON and outlive the Vigil that wrote them, so reading one
back must not trust it: a hand-edited or truncated profile would otherwise surface much
later as a NumPy shape error inside a drift computation. ``profile_from_dict`` checks every
key and the invariants the windows rely on (edges strictly increasing, one more count than
edges, counts adding up to ``n_rows``) and raises ``ValidationError`` naming the key path
(``features[2].counts``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from bot.core.errors import ValidationError
from bot.quality.labels.reference import labels_from_dict, labels_to_dict
from bot.quality.profile import (
    KINDS,
    PROFILE_VERSION,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    ReferenceProfile,
    type_name,
)


def _feature_to_dict(profile: FeatureProfile) -> dict[str, object]:
    if isinstance(profile, NumericProfile):
        return {
            "name": profile.name,
            "kind": profile.kind,
            "edges": list(profile.edges),
            "counts": list(profile.counts),
            "missing": profile.missing,
            "min": profile.min,
            "max": profile.max,
            "mean": profile.mean,
            "std": profile.std,
        }
    return {
        "name": profile.name,
        "kind": profile.kind,
        "categories": list(profile.categories),
        "counts": list(profile.counts),
        "other": profile.other,
        "missing": profile.missing,
    }


def profile_to_dict(profile: ReferenceProfile) -> dict[str, object]:
    """The profile as JSON-ready builtins (lists, dicts, str, int, float)."""
    return {
        "version": profile.version,
        "n_rows": profile.n_rows,
        "features": [_feature_to_dict(f) for f in profile.features],
        "prediction": None if profile.prediction is None else _feature_to_dict(profile.prediction),
        "confidence": None if profile.confidence is None else _feature_to_dict(profile.confidence),
        "importances": dict(profile.importances),
        "labels": None if profile.labels is None else labels_to_dict(profile.labels),
    }


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _object(value: object, path: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise ValidationError(path or "profile", f"must be an object, not {type_name(value)}")
    return value


def _key(data: Mapping[str, object], key: str, path: str) -> object:
    if key not in data:
        raise ValidationError(_join(path, key), "is required")
    return data[key]


def _int(data: Mapping[str, object], key: str, path: str, *, low: int = 0) -> int:
    value = _key(data, key, path)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(_join(path, key), f"must be an integer, not {type_name(value)}")
    if value < low:
        raise ValidationError(_join(path, key), f"must be at least {low}, got {value}")
    return value


def _float(data: Mapping[str, object], key: str, path: str) -> float:
    value = _key(data, key, path)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValidationError(_join(path, key), f"must be a number, not {type_name(value)}")
    if not math.isfinite(value):
        raise ValidationError(_join(path, key), "must be finite")
    return float(value)


def _list(data: Mapping[str, object], key: str, path: str) -> list[object]:
    value = _key(data, key, path)
    if not isinstance(value, list):
        raise ValidationError(_join(path, key), f"must be an array, not {type_name(value)}")
    return value


def _counts(data: Mapping[str, object], path: str, size: int) -> tuple[int, ...]:
    items = _list(data, "counts", path)
    field = _join(path, "counts")
    if len(items) != size:
        raise ValidationError(field, f"must have {size} entries, got {len(items)}")
    for index, count in enumerate(items):
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValidationError(f"{field}[{index}]", "must be a non-negative integer")
    return tuple(items)  # type: ignore[arg-type]


def _numeric(data: Mapping[str, object], path: str, name: str) -> NumericProfile:
    edges_field = _join(path, "edges")
    raw = _list(data, "edges", path)
    if not raw:
        raise ValidationError(edges_field, "must hold at least one cut point")
    edges: list[float] = []
    for index, edge in enumerate(raw):
        if not isinstance(edge, int | float) or isinstance(edge, bool) or not math.isfinite(edge):
            raise ValidationError(f"{edges_field}[{index}]", "must be a finite number")
        if edges and edge <= edges[-1]:
            raise ValidationError(f"{edges_field}[{index}]", "edges must strictly increase")
        edges.append(float(edge))
    profile = NumericProfile(
        name=name,
        edges=tuple(edges),
        counts=_counts(data, path, len(edges) + 1),
        missing=_int(data, "missing", path),
        min=_float(data, "min", path),
        max=_float(data, "max", path),
        mean=_float(data, "mean", path),
        std=_float(data, "std", path),
    )
    if profile.min > profile.max:
        raise ValidationError(_join(path, "min"), "must not exceed max")
    if profile.std < 0:
        raise ValidationError(_join(path, "std"), "must not be negative")
    return profile


def _categorical(data: Mapping[str, object], path: str, name: str) -> CategoricalProfile:
    field = _join(path, "categories")
    categories = _list(data, "categories", path)
    for index, category in enumerate(categories):
        if not isinstance(category, str):
            raise ValidationError(f"{field}[{index}]", "must be a string")
    if len(set(categories)) != len(categories):
        raise ValidationError(field, "must not repeat a category")
    return CategoricalProfile(
        name=name,
        categories=tuple(categories),  # type: ignore[arg-type]
        counts=_counts(data, path, len(categories)),
        other=_int(data, "other", path),
        missing=_int(data, "missing", path),
    )


def _feature(value: object, path: str, n_rows: int) -> FeatureProfile:
    data = _object(value, path)
    raw_name = _key(data, "name", path)
    if not isinstance(raw_name, str) or not raw_name:
        raise ValidationError(_join(path, "name"), "must be a non-empty string")
    kind = _key(data, "kind", path)
    if kind not in KINDS:
        raise ValidationError(_join(path, "kind"), 'must be "numeric" or "categorical"')
    if kind == "numeric":
        profile: FeatureProfile = _numeric(data, path, raw_name)
    else:
        profile = _categorical(data, path, raw_name)
    if profile.n == 0:
        raise ValidationError(_join(path, "counts"), "must count at least one value")
    if profile.n + profile.missing != n_rows:
        raise ValidationError(
            _join(path, "counts"),
            f"counts and missing add up to {profile.n + profile.missing}, not n_rows {n_rows}",
        )
    return profile


def profile_from_dict(value: object) -> ReferenceProfile:
    """Rebuild a ``ReferenceProfile`` from ``profile_to_dict``'s output, checking every key."""
    data = _object(value, "")
    version = _int(data, "version", "")
    if version != PROFILE_VERSION:
        raise ValidationError(
            "version", f"profile version {version} is not supported (expected {PROFILE_VERSION})"
        )
    n_rows = _int(data, "n_rows", "", low=1)
    raw_features = _list(data, "features", "")
    if not raw_features:
        raise ValidationError("features", "must hold at least one feature")
    features = tuple(
        _feature(item, f"features[{index}]", n_rows) for index, item in enumerate(raw_features)
    )
    names = [f.name for f in features]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise ValidationError(f"features[{index}].name", f"repeats the feature {name!r}")
    prediction = data.get("prediction")
    predicted = None if prediction is None else _feature(prediction, "prediction", n_rows)
    confidence = data.get("confidence")
    confident = None if confidence is None else _feature(confidence, "confidence", n_rows)
    if confident is not None and not isinstance(confident, NumericProfile):
        raise ValidationError("confidence.kind", 'must be "numeric"')
    importances: dict[str, float] = {}
    raw_importances = _object(data.get("importances", {}), "importances")
    for name in raw_importances:
        if name not in names:
            raise ValidationError(f"importances.{name}", "is not a feature of the profile")
        importances[name] = _float(raw_importances, name, "importances")
    raw_labels = data.get("labels")  # absent from profiles stored before issue 20
    labels = None if raw_labels is None else labels_from_dict(_object(raw_labels, "labels"))
    return ReferenceProfile(
        n_rows=n_rows,
        features=features,
        prediction=predicted,
        confidence=confident,
        importances=importances,
        version=version,
        labels=labels,
    )
