"""Which model version made each prediction, and what the monitor keeps per version.

A row of ``POST /api/v1/models/{model}/predictions`` may carry ``version`` (a post may give
one for all its rows); a row without one belongs to the *default version*: the version the
model registry says is stable for the model when the post arrives (the service looks it up,
at most every few seconds), else ``unknown``. Labels carry no version: they join their
prediction by id and inherit its version. A row may also carry ``latency_ms``, the time the
model took to answer, which the canary judge compares between versions.

Unlike a bad feature value, which rejects one row, a bad ``version`` or ``latency_ms``
refuses the whole post (400 naming ``rows[3].version``): a row counted under the wrong
version would blame a canary for the stable version's rows, and nothing says which one.
Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np

from bot.core.errors import NotFoundError, ValidationError
from bot.ingest.validate import child, fail, item, json_type
from bot.quality.binning import FloatArray
from bot.quality.compare.ledger import DEFAULT_KEEP, VersionLedger
from bot.quality.row_fields import ColumnarRows

UNKNOWN = "unknown"
"""The version of rows that name none, for a model the registry has no stable version of."""

MAX_VERSION = 64
"""Characters of a version: what the registry's tables hold."""

MAX_VERSIONS = 16
"""Versions a model keeps apart at once (one stable, a canary, a shadow or two, and room)."""

MAX_LATENCY_MS = 86_400_000.0
"""A day: a larger latency is a unit mistake (microseconds), not a slow model."""

_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+:@/-]*")
_RULE = (
    f"at most {MAX_VERSION} characters: letters, digits and . _ + : @ / -, "
    "starting with a letter or digit"
)


class UnknownVersion(NotFoundError):
    """A version the model's window has seen no row of (the model itself is watched)."""


def check_version(value: object, path: str) -> str:
    """``value`` as a version string (a whole number reads as its digits, as MLflow numbers
    versions), or ``ValidationError`` naming ``path``."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if not isinstance(value, str):
        raise fail(path, f"must be a string, not {json_type(value)}")
    if len(value) > MAX_VERSION or not _VERSION.fullmatch(value):
        raise fail(path, f"must be a version name ({_RULE}), got {value[:80]!r}")
    return value


@dataclass(frozen=True)
class RowTags:
    """Per row of a post: its version and its latency (NaN when it gave none)."""

    versions: list[str]
    latencies: FloatArray | None
    """None when no row of the post gave a latency."""


def row_tags(rows: Sequence[object], post_version: object, default: str) -> RowTags:
    """Every row's version (its own, else the post's, else ``default``) and latency; a bad
    one refuses the post. Rows that are not objects take the post's version: the row checks
    reject them and count them against that version's data quality."""
    fallback = default if post_version is None else check_version(post_version, "version")
    if isinstance(rows, ColumnarRows):  # an Arrow body: its columns as they are
        named, timed = rows.column("version"), rows.column("latency_ms")
    else:
        objects: Sequence[Any] = rows
        if not set(map(type, rows)) <= {dict}:
            objects = [row if type(row) is dict else {} for row in rows]
        named = list(map(dict.get, objects, repeat("version")))  # one C-level pass a column
        timed = list(map(dict.get, objects, repeat("latency_ms")))
    first = named[0] if named else None
    if (first is None or type(first) is str) and named.count(first) == len(named):
        # The common post: one version (or none) for every row, checked once.
        version = fallback if first is None else check_version(first, "rows[0].version")
        versions = [version] * len(rows)
    else:
        versions = _each_version(named, fallback)
    if timed.count(None) == len(timed):
        return RowTags(versions, None)
    latencies = [math.nan if ms is None else _latency(ms, i) for i, ms in enumerate(timed)]
    return RowTags(versions, np.array(latencies, dtype=np.float64))


def _each_version(named: list[object], fallback: str) -> list[str]:
    versions: list[str] = []
    seen: set[str] = set()
    for index, raw in enumerate(named):
        if raw is None:
            versions.append(fallback)
        elif type(raw) is str and raw in seen:
            versions.append(raw)
        else:
            version = check_version(raw, child(item("rows", index), "version"))
            seen.add(version)
            versions.append(version)
    return versions


def _latency(value: object, index: int) -> float:
    path = child(item("rows", index), "latency_ms")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(path, f"must be a number of milliseconds, not {json_type(value)}")
    try:
        ms = float(value)
    except OverflowError:
        ms = math.inf
    if not 0.0 <= ms <= MAX_LATENCY_MS:  # NaN fails too
        raise fail(path, f"must be from 0 to {MAX_LATENCY_MS:.0f} milliseconds, got {value!r:.40}")
    return ms


@dataclass
class VersionState:
    """One version of a watched model, in this process: the newest minute it sent rows in,
    and, for a monitor without a database, its minute ledger (with one, the stored panes
    are its evidence: a ledger kept beside them would be counted and never read)."""

    ledger: VersionLedger | None = None
    last_minute: int | None = None


def make_room(versions: dict[str, VersionState], wanted: int, now: datetime) -> None:
    """Forget versions that sent no row for a day while there would be more than
    ``MAX_VERSIONS``; refuse the post when they all did (each version holds a window and a
    day of minutes: a sender inventing versions must not grow memory without end)."""
    if len(versions) + wanted <= MAX_VERSIONS:
        return
    oldest_kept = VersionLedger.minute_of(now - DEFAULT_KEEP)
    for version, state in sorted(versions.items()):
        last = state.last_minute
        if last is None or last < oldest_kept:
            del versions[version]
    if len(versions) + wanted > MAX_VERSIONS:
        raise ValidationError(
            "version",
            f"the model already has {len(versions)} versions that sent rows in the last day, "
            f"at most {MAX_VERSIONS}: {', '.join(sorted(versions))}",
        )
