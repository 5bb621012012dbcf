"""Reading a post's rows as shadow mode pairs them: the contract of a shadow post.

A shadow version's outputs are posted to the same endpoint as the live ones, with
``"shadow": true`` and the shadow's ``"version"`` on the post::

    POST /api/v1/models/{model}/predictions
    {"shadow": true, "version": "v8",
     "rows": [{"id": "r1", "prediction": "fraud", "confidence": 0.91, "latency_ms": 31}]}

The flag is explicit rather than read from the registry's stage: the sender knows which
output it is posting, a registry promotion in the middle of a post cannot move rows between
the live figures and the comparison, and a model without a registry can shadow too. Each
row needs the ``id`` of the live row it shadows and a ``prediction``; ``confidence``,
``latency_ms`` and ``features`` are optional (the categorical values of a pair are read
from the live row, else the shadow's). A row naming another version than the post's, a
shadow post without a version, or a bad ``latency_ms`` refuses the post (400 naming the
field); a row without an id (or with one over ``MAX_ID`` characters) or prediction is
rejected alone and reported. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.ingest.validate import child, fail, item, json_type
from bot.monitoring.versions import RowTags, check_version, row_tags
from bot.quality.binning import FloatArray
from bot.quality.compare.shadow import MAX_ID, PairRow, Prediction, segment_value
from bot.quality.profile import (
    CategoricalProfile,
    NumericProfile,
    ReferenceProfile,
    category_key,
    is_number,
)

ERRORS_SHOWN = 20


@dataclass(frozen=True)
class ShadowRows:
    version: str
    rows: list[PairRow]
    rejected: list[tuple[int, str, str]]
    """(row, field, reason) of the first rejected rows."""
    rejected_total: int


def is_shadow(body: Mapping[str, object]) -> bool:
    """Whether a post is a shadow's (``"shadow": true``); anything else but a boolean or
    null is a 400."""
    flag = body.get("shadow")
    if flag is None or isinstance(flag, bool):
        return bool(flag)
    raise fail("shadow", f"must be true or false, not {json_type(flag)}")


def shadow_rows(
    body: Mapping[str, object], rows: Sequence[object], profile: ReferenceProfile
) -> ShadowRows:
    """The rows of a shadow post, each as pairing needs it, or the reason it was rejected."""
    if body.get("version") is None:
        raise fail("version", "is required on a shadow post (the shadow version's name)")
    version = check_version(body.get("version"), "version")
    tags = row_tags(rows, version, version)
    for index, named in enumerate(tags.versions):
        if named != version:
            raise fail(
                child(item("rows", index), "version"),
                f"must be the post's shadow version {version!r} or absent, got {named!r}",
            )
    out: list[PairRow] = []
    rejected: list[tuple[int, str, str]] = []
    total = 0
    for index, raw in enumerate(rows):
        try:
            out.append(_row(raw, index, profile, tags.latencies))
        except _Rejected as exc:
            total += 1
            if len(rejected) < ERRORS_SHOWN:
                rejected.append((index, exc.field, exc.reason))
    return ShadowRows(version, out, rejected, total)


def live_rows(
    rows: Sequence[object],
    positions: Sequence[int],
    tags: RowTags,
    profile: ReferenceProfile,
) -> list[PairRow]:
    """The accepted live rows of a post (already checked) as pairing needs them; a row
    without a usable prediction is left out (nothing to compare)."""
    out: list[PairRow] = []
    for position in positions:
        try:
            out.append(_row(rows[position], position, profile, tags.latencies))
        except _Rejected:
            continue
    return out


class _Rejected(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _row(
    raw: object, index: int, profile: ReferenceProfile, latencies: FloatArray | None
) -> PairRow:
    if type(raw) is not dict:
        raise _Rejected("", f"must be an object, not {json_type(raw)}")
    row: dict[str, Any] = raw
    row_id = row.get("id")
    if isinstance(row_id, bool) or not isinstance(row_id, str | int) or row_id == "":
        raise _Rejected("id", "is required (the live row's id: a non-empty string or integer)")
    if len(str(row_id)) > MAX_ID:
        raise _Rejected("id", f"must be at most {MAX_ID} characters")
    prediction = _prediction(row.get("prediction"), profile)
    confidence = row.get("confidence")
    if confidence is not None:
        if not is_number(confidence) or not 0.0 <= float(confidence) <= 1.0:
            raise _Rejected("confidence", "must be a number from 0 to 1")
        confidence = float(confidence)
    latency = None if latencies is None else float(latencies[index])
    return PairRow(
        id=str(row_id),
        prediction=prediction,
        confidence=confidence,
        latency_ms=None if latency is None or math.isnan(latency) else latency,
        segments=_segments(row.get("features"), profile),
    )


def _prediction(value: object, profile: ReferenceProfile) -> Prediction:
    if isinstance(profile.prediction, NumericProfile):
        if not is_number(value) or not math.isfinite(float(value)):  # type: ignore[arg-type]
            raise _Rejected("prediction", "is required (a finite number)")
        return float(value)  # type: ignore[arg-type]
    try:
        key = category_key(value)
    except TypeError:
        key = None
    if key is None:
        raise _Rejected("prediction", "is required (the predicted class)")
    return key


def _segments(features: object, profile: ReferenceProfile) -> tuple[tuple[str, str], ...]:
    if type(features) is not dict:
        return ()
    out: list[tuple[str, str]] = []
    for feature in profile.features:
        if not isinstance(feature, CategoricalProfile):
            continue
        try:
            key = category_key(features.get(feature.name))
        except TypeError:
            continue
        if key is not None:
            out.append((feature.name, segment_value(feature, key)))
    return tuple(out)
