"""A reference file reduced to the model's reference profile, with what was understood.

``vigil model reference`` says what it decided (which columns are features, which play a
role, the reference accuracy when the file has both a prediction and a label), so the user
can see at once if a column was taken for the wrong thing. This module joins the pieces:
the roles from the header (``roles.py``), only the needed columns read (``columns.py``),
then ``bot.quality.profile.build_profile``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bot.core.errors import ValidationError
from bot.monitoring.reference.columns import read_columns, read_header
from bot.monitoring.reference.roles import Assignment, Roles, assign
from bot.quality.binning import DEFAULT_BINS
from bot.quality.labels.reference import reference_labels
from bot.quality.profile import (
    DEFAULT_MAX_CATEGORIES,
    CategoricalProfile,
    Column,
    Kind,
    ReferenceProfile,
    build_profile,
    category_key,
)


@dataclass(frozen=True)
class ReferenceSummary:
    """What ``vigil model reference`` tells the user it understood from the file."""

    rows: int
    features: tuple[tuple[str, Kind], ...]
    """Each feature with its kind, in file order."""
    prediction: str | None = None
    prediction_kind: Kind | None = None
    confidence: str | None = None
    label: str | None = None
    id: str | None = None
    timestamp: str | None = None
    ignored: tuple[str, ...] = ()
    accuracy: float | None = None
    """Share of labelled rows whose prediction equals the label (same keys as live rows);
    None without both columns, for a numeric (regression) prediction, or with no row
    carrying both."""
    labelled: int = 0
    """Rows with both a prediction and a label: the accuracy's denominator."""
    warnings: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """The summary as short lines for a terminal or chat reply."""
        kinds = ", ".join(f"{name} ({kind})" for name, kind in self.features)
        noun = "feature" if len(self.features) == 1 else "features"
        rows = "1 row" if self.rows == 1 else f"{self.rows:,} rows"
        out = [f"{rows}, {len(self.features)} {noun}: {kinds}"]
        if self.prediction is not None:
            out.append(f"prediction: {self.prediction} ({self.prediction_kind})")
        if self.confidence is not None:
            out.append(f"confidence: {self.confidence}")
        if self.label is not None:
            line = f"label: {self.label}"
            if self.accuracy is not None:
                line += f" (reference accuracy {self.accuracy:.3f} over {self.labelled:,} rows)"
            out.append(line)
        out.extend(
            f"{role}: {name}"
            for role, name in (("id", self.id), ("timestamp", self.timestamp))
            if name is not None
        )
        if self.ignored:
            out.append(f"ignored: {', '.join(self.ignored)}")
        out.extend(f"warning: {w}" for w in self.warnings)
        return out


def plan_reference(
    path: Path, roles: Roles, importances: Mapping[str, float] | None = None
) -> Assignment:
    """The file's header read and its columns given their roles (no data read); every
    importance must name a feature. Shared by every engine."""
    plan = assign(path, read_header(path), roles)
    for name in importances or {}:
        if name not in plan.features:
            role = next((r for r, c in plan.roles.items() if c == name), None)
            why = (
                f"is the {role} column, not a feature"
                if role
                else "is ignored (--ignore)"
                if name in plan.ignored
                else f"is not a column of {path.name}"
            )
            raise ValidationError(f"importances.{name}", why)
    return plan


def empty_feature(path: Path, name: str) -> ValidationError:
    """The refusal of a feature that is missing on every row."""
    return ValidationError(
        f"features.{name}", f"is empty on every row of {path.name}; pass --ignore {name}"
    )


def load_reference(
    path: Path,
    roles: Roles,
    *,
    importances: Mapping[str, float] | None = None,
    bins: int = DEFAULT_BINS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
) -> tuple[ReferenceProfile, ReferenceSummary]:
    """Read ``path`` and reduce it to the model's reference profile, with what was understood
    (the in-process engine: the whole file in memory; ``bot.profiling`` has the others).

    The id and timestamp columns are never read: they identify rows, they do not describe
    the data. The label is read only for what the live labels are held against: the
    reference accuracy, the label mix and the estimate's gap (``profile.labels``).
    """
    plan = plan_reference(path, roles, importances)
    used = {plan.roles[r] for r in ("prediction", "confidence", "label") if r in plan.roles}
    columns = read_columns(
        path, columns=set(plan.features) | used, categorical=set(roles.categorical)
    )
    for name in plan.features:
        if _all_missing(columns[name]):
            raise empty_feature(path, name)
    prediction = columns.pop(plan.roles["prediction"]) if "prediction" in plan.roles else None
    confidence = columns.pop(plan.roles["confidence"]) if "confidence" in plan.roles else None
    label = columns.pop(plan.roles["label"]) if "label" in plan.roles else None
    # The kinds are known from the column types: naming them spares build_profile a Python
    # pass over every value of every text column to infer what it would infer anyway.
    forced = set(roles.categorical)
    kinds: dict[str, Kind] = {
        name: "numeric" if isinstance(values, np.ndarray) and name not in forced else "categorical"
        for name, values in columns.items()
    }
    profile = build_profile(
        columns,
        kinds=kinds,
        prediction=prediction,
        confidence=confidence,
        importances=importances,
        bins=bins,
        max_categories=max_categories,
    )
    del columns, confidence
    agreement = None
    classes = isinstance(profile.prediction, CategoricalProfile)
    if label is not None and prediction is not None and classes:
        agreement = _agreement(prediction, label)
        profile = with_labels(profile, pair_counts(prediction, label))
    return profile, summarize(profile, plan, agreement)


def with_labels(
    profile: ReferenceProfile, pairs: list[tuple[object, object, int]]
) -> ReferenceProfile:
    """``profile`` holding its labels' mix, agreement and estimate gap, from (prediction,
    label, rows) counts (every engine's: keys compared as live rows')."""
    keyed = [(category_key(p), category_key(t), n) for p, t, n in pairs]
    mean = profile.confidence.mean if profile.confidence is not None else None
    return replace(profile, labels=reference_labels(keyed, mean))


def pair_counts(prediction: Column, label: Column) -> list[tuple[object, object, int]]:
    """(prediction, label, rows) of the in-process columns (missing values as None)."""
    counted = Counter(zip(_keys(prediction), _keys(label), strict=True))
    return [(p, t, n) for (p, t), n in counted.items()]


def summarize(
    profile: ReferenceProfile, plan: Assignment, agreement: tuple[float | None, int] | None
) -> ReferenceSummary:
    """What the user is told: the columns' roles and kinds, and the reference accuracy
    (``agreement``: accuracy and labelled rows, None without both a class prediction and a
    label), with the warnings they call for."""
    accuracy, labelled, warnings = None, 0, []
    if agreement is not None:
        accuracy, labelled = agreement
        if accuracy is None:
            warnings.append("no row has both a prediction and a label: no accuracy")
        elif accuracy == 0.0:
            warnings.append(
                "no prediction equals its label: are the prediction and label columns "
                "the same kind of value (1/0 against fraud/legit)?"
            )
    elif "label" in plan.roles and profile.prediction is not None:
        warnings.append("the prediction is numeric (a regression output), so no reference accuracy")
    return ReferenceSummary(
        rows=profile.n_rows,
        features=tuple((f.name, f.kind) for f in profile.features),
        prediction=plan.roles.get("prediction"),
        prediction_kind=profile.prediction.kind if profile.prediction else None,
        confidence=plan.roles.get("confidence"),
        label=plan.roles.get("label"),
        id=plan.roles.get("id"),
        timestamp=plan.roles.get("timestamp"),
        ignored=plan.ignored,
        accuracy=accuracy,
        labelled=labelled,
        warnings=tuple(warnings),
    )


def _all_missing(values: Column) -> bool:
    if isinstance(values, np.ndarray):
        return bool(np.isnan(values).all())
    return all(v is None for v in values)


def _keys(values: Column) -> list[str | None]:
    """Category keys as the monitor computes them for live predictions and labels."""
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return [v if v is None or type(v) is str else category_key(v) for v in items]


def _agreement(prediction: Column, label: Column) -> tuple[float | None, int]:
    """Share of rows with both values where the prediction's key equals the label's."""
    if isinstance(prediction, np.ndarray) and isinstance(label, np.ndarray):
        both = ~(np.isnan(prediction) | np.isnan(label))  # equal floats <=> equal keys
        labelled = int(both.sum())
        hits = int((prediction[both] == label[both]).sum())
    else:
        pairs = [
            (p, t)
            for p, t in zip(_keys(prediction), _keys(label), strict=True)
            if p is not None and t is not None
        ]
        labelled = len(pairs)
        hits = sum(p == t for p, t in pairs)
    return (hits / labelled if labelled else None), labelled
