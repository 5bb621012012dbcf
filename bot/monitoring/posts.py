"""A post of predictions or labels taken apart: its rows, importances, versions' shares.

The monitor's pure helpers for one post: the bounded list of rows and the fields an
endpoint takes (``post_rows``), pushed feature importances checked against the profile
(``importances``), a post of several versions split into each one's rows (``apart``), the
accepted rows' confidences (``confidences``) and a version's pane of the post
(``pane_of``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import cast

import numpy as np

from bot.core.errors import ValidationError
from bot.ingest.validate import bounded_list, child, fail, json_type, require_object
from bot.monitoring.panes.parts import LATENCIES_KEPT, Pane
from bot.quality.batch import ColumnBatch
from bot.quality.binning import FloatArray
from bot.quality.data import RowCheck
from bot.quality.profile import ReferenceProfile
from bot.quality.row_fields import ColumnarRows
from bot.quality.sketch import Sketch

MAX_ROWS = 10_000
"""Most rows accepted in one post of predictions or labels."""


def pane_of(sketch: Sketch, latencies: FloatArray | None) -> Pane:
    if latencies is None:
        return Pane(sketch)
    present = latencies[~np.isnan(latencies)].astype(np.float32)
    return Pane(sketch, present[:LATENCIES_KEPT], int(present.shape[0]))


def confidences(check: RowCheck) -> list[float | None] | None:
    """Each accepted row's confidence (None where it had none), or None without any."""
    conf = check.batch.confidence
    if conf is None:
        return None
    return [None if math.isnan(c) else c for c in conf.tolist()]


def apart(
    versions: list[str], check: RowCheck, latencies: FloatArray | None
) -> list[tuple[str, ColumnBatch, FloatArray | None, list[int]]]:
    """A post of several versions: each one's rows (and rejected rows) apart, with where
    they sit in the batch."""
    accepted = [versions[p] for p in check.positions]
    rejected = Counter(versions)
    rejected.subtract(accepted)
    names = np.array(accepted, dtype=object)
    out: list[tuple[str, ColumnBatch, FloatArray | None, list[int]]] = []
    for version in sorted(set(versions)):
        index = np.flatnonzero(names == version)
        part = check.batch.take(index, rejected=rejected[version])
        kept = None if latencies is None else latencies[index]
        out.append((version, part, kept, index.tolist()))
    return out


def listed(taken: object) -> list[str]:
    """``itemgetter`` of one index gives the item, of several a tuple: always a list."""
    return list(taken) if isinstance(taken, tuple) else [cast(str, taken)]


def post_rows(
    body: Mapping[str, object],
    *,
    fields: tuple[str, ...] = ("rows", "importances", "version", "shadow"),
) -> Sequence[object]:
    given = body.get("rows")
    if isinstance(given, ColumnarRows) and 0 < len(given) <= MAX_ROWS:  # an Arrow body
        raw: Sequence[object] = given
    else:
        raw = bounded_list(given, "rows", most=MAX_ROWS, noun="row")
    extra = sorted(set(body) - set(fields))
    if extra:
        raise fail(extra[0], f"is not a field of this endpoint ({', '.join(fields)})")
    return raw


def importances(raw: object, profile: ReferenceProfile) -> dict[str, float] | None:
    if raw is None:
        return None
    obj = require_object(raw, "importances")
    out: dict[str, float] = {}
    for name, value in obj.items():
        path = child("importances", name)
        if name not in profile.names:
            raise fail(path, "is not a feature of the reference profile")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(path, f"must be a number, not {json_type(value)}")
        try:
            weight = float(value)
        except OverflowError:  # an integer too large for a float
            weight = math.inf
        if not math.isfinite(weight):  # NaN would sort anywhere: the ranking means nothing
            raise fail(path, f"must be a finite number, not {value!r:.40}")
        out[name] = weight
    if not out:
        raise ValidationError("importances", "must name at least one feature")
    return out
