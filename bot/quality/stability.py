"""Feature-importance stability: did the features the model leans on change?

Drift statistics say *that* inputs moved; a reshuffled importance ranking says the model now
decides on different grounds, which is often the first visible sign of a broken upstream
feature (a column silently filled with a default drops from rank 1 to the bottom). Only the
top of the ranking matters to people reading an alert, so the comparison is over the top
``k`` of each side:

* Kendall's tau (``scipy.stats.kendalltau``, tau-b) between the two rankings, over the
  union of the two top-k sets: 1 means the same order, -1 the reverse;
* which features entered or left the top ``k``;
* the largest rank moves, for the alert text ("income fell from rank 1 to rank 6").

Ranks are 1-based positions in the *whole* ranking of each side (highest importance first,
ties broken by feature name so results are reproducible). A feature of the union that one
side lacks altogether is ranked last there (``len(side) + 1``) for tau and has no rank
(``None``) in its move. Importances are compared as given: pass magnitudes (e.g. mean
``|SHAP|``) rather than signed coefficients if sign should not matter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bot.core.errors import ValidationError

DEFAULT_K = 5


@dataclass(frozen=True)
class RankMove:
    """One feature's rank before (reference) and after (current); ``None`` = absent there."""

    feature: str
    before: int | None
    after: int | None

    @property
    def shift(self) -> int | None:
        """Places moved down (positive) or up (negative); ``None`` if absent on either side."""
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    def describe(self) -> str:
        if self.before is None:
            return f"{self.feature} appeared at rank {self.after}"
        if self.after is None:
            return f"{self.feature} (rank {self.before}) is missing from the current importances"
        if self.after > self.before:
            return f"{self.feature} fell from rank {self.before} to rank {self.after}"
        if self.after < self.before:
            return f"{self.feature} rose from rank {self.before} to rank {self.after}"
        return f"{self.feature} stayed at rank {self.before}"


@dataclass(frozen=True)
class Stability:
    """How the top-``k`` importance ranking changed from reference to current.

    ``moves`` lists the union's features whose rank changed, largest move first (a feature
    missing on one side counts as the largest move); ``entered``/``left`` are in current and
    reference rank order respectively.
    """

    tau: float
    p_value: float
    entered: tuple[str, ...]
    left: tuple[str, ...]
    moves: tuple[RankMove, ...]
    k: int


def _ranks(importances: Mapping[str, float], field: str) -> dict[str, int]:
    if not isinstance(importances, Mapping):
        raise ValidationError(field, f"must map feature names to importances, got {importances!r}")
    if not importances:
        raise ValidationError(field, "has no features")
    for name, value in importances.items():
        if not isinstance(name, str) or not name:
            raise ValidationError(field, f"feature names must be non-empty strings, got {name!r}")
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise ValidationError(f"{field}.{name}", f"must be a number, got {value!r}")
        if not math.isfinite(float(value)):
            raise ValidationError(f"{field}.{name}", f"must be finite, got {value}")
    order = sorted(importances, key=lambda name: (-float(importances[name]), name))
    return {name: rank for rank, name in enumerate(order, start=1)}


def _move_size(move: RankMove, worst: int) -> int:
    """Places moved; a feature absent on one side outranks any real move (at most ``worst``-2)."""
    return worst if move.shift is None else abs(move.shift)


def importance_stability(
    reference: Mapping[str, float], current: Mapping[str, float], *, k: int = DEFAULT_K
) -> Stability:
    """Compare the top ``k`` features of ``reference`` and ``current`` importances."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValidationError("k", f"must be an integer of at least 1, got {k!r}")
    ref_rank = _ranks(reference, "reference")
    cur_rank = _ranks(current, "current")
    if not set(ref_rank) & set(cur_rank):
        raise ValidationError(
            "current", "shares no feature with the reference; are these the same model's features?"
        )
    ref_top = [name for name, rank in ref_rank.items() if rank <= k]
    cur_top = [name for name, rank in cur_rank.items() if rank <= k]
    union = sorted(set(ref_top) | set(cur_top), key=lambda n: (ref_rank.get(n, math.inf), n))

    if len(union) < 2:
        tau, p_value = 1.0, 1.0  # one feature on top of both sides: the same order
    else:
        x = [ref_rank.get(name, len(ref_rank) + 1) for name in union]
        y = [cur_rank.get(name, len(cur_rank) + 1) for name in union]
        # scipy on first use: importing it with the app costs every vigil command ~0.5 s.
        from scipy import stats  # type: ignore[import-untyped, unused-ignore]

        result = stats.kendalltau(x, y)
        tau, p_value = float(result.statistic), float(result.pvalue)

    worst = max(len(ref_rank), len(cur_rank)) + 1
    moves = [
        RankMove(name, ref_rank.get(name), cur_rank.get(name))
        for name in union
        if ref_rank.get(name) != cur_rank.get(name)
    ]
    moves.sort(key=lambda m: (-_move_size(m, worst), m.before or worst, m.feature))
    return Stability(
        tau=tau,
        p_value=p_value,
        entered=tuple(name for name in cur_top if name not in ref_top),
        left=tuple(name for name in ref_top if name not in cur_top),
        moves=tuple(moves),
        k=k,
    )
