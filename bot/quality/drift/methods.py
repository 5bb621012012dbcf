"""The drift methods by name, their default thresholds, and the default choice per feature.

Defaults (:func:`default_method`) follow Evidently: on more than ``LARGE_SAMPLE_ROWS``
reference rows a p-value flags trivial shifts (everything is "significant" on a million
rows), so large samples use effect sizes, Wasserstein (normed) for numeric and JS for
categorical, threshold 0.1; small samples use KS p < 0.05 and chi-square p < 0.05. PSI's 0.2
is the product's rule "input drift PSI > 0.2". Evidently-equal values:
:mod:`bot.quality.evidently_compat`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sized
from dataclasses import dataclass
from types import MappingProxyType

from bot.core.errors import ValidationError
from bot.quality.drift.divergence import js, kl, psi
from bot.quality.drift.inputs import LARGE_SAMPLE_ROWS, Column, Kind, check_kind, positive
from bot.quality.drift.stat_tests import chi_square, ks
from bot.quality.drift.wasserstein import wasserstein_normed


@dataclass(frozen=True)
class DriftScore:
    """One feature's drift verdict: ``value`` of ``method`` against ``threshold``."""

    method: str
    value: float
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class DriftMethod:
    """A registered statistic: a distance drifts *above* its threshold, a p-value *below*."""

    name: str
    kinds: frozenset[str]
    threshold: float
    is_p_value: bool
    compute: Callable[[Column, Column, Kind], float]

    def judge(self, value: float, threshold: float | None = None) -> DriftScore:
        """Compare ``value`` with ``threshold`` (this method's default when ``None``)."""
        limit = self.threshold if threshold is None else positive(threshold, "threshold")
        drifted = value < limit if self.is_p_value else value > limit
        return DriftScore(self.name, float(value), limit, bool(drifted))


_NUM, _CAT = frozenset({"numeric"}), frozenset({"categorical"})
_BOTH = _NUM | _CAT
_REGISTERED = (
    DriftMethod("psi", _BOTH, 0.2, False, lambda r, c, k: psi(r, c, kind=k)),
    DriftMethod("kl", _BOTH, 0.1, False, lambda r, c, k: kl(r, c, kind=k)),
    DriftMethod("js", _BOTH, 0.1, False, lambda r, c, k: js(r, c, kind=k)),
    DriftMethod("wasserstein", _NUM, 0.1, False, lambda r, c, _: wasserstein_normed(r, c)),
    DriftMethod("ks", _NUM, 0.05, True, lambda r, c, _: ks(r, c).p_value),
    DriftMethod("chi_square", _CAT, 0.05, True, lambda r, c, _: chi_square(r, c).p_value),
)
METHODS: Mapping[str, DriftMethod] = MappingProxyType({m.name: m for m in _REGISTERED})
"""Methods by name. KS and chi-square report their p-value; the rest a distance."""


def get_method(name: str) -> DriftMethod:
    """The registered method called ``name``."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValidationError("method", f"unknown {name!r}; known: {', '.join(METHODS)}") from None


def default_method(kind: Kind, n_rows: int) -> str:
    """Evidently's choice: effect sizes above ``LARGE_SAMPLE_ROWS`` reference rows, else tests."""
    check_kind(kind)
    if n_rows < 1:
        raise ValidationError("n_rows", f"must be at least 1, got {n_rows}")
    if n_rows > LARGE_SAMPLE_ROWS:
        return "wasserstein" if kind == "numeric" else "js"
    return "ks" if kind == "numeric" else "chi_square"


def drift_score(
    reference: Column,
    current: Column,
    *,
    kind: Kind,
    method: str | None = None,
    threshold: float | None = None,
) -> DriftScore:
    """Score one feature with ``method`` (the default for its kind and size when ``None``)."""
    check_kind(kind)
    n_rows = len(reference) if isinstance(reference, Sized) else 1
    entry = get_method(method or default_method(kind, n_rows))
    if kind not in entry.kinds:
        usable = ", ".join(name for name, m in METHODS.items() if kind in m.kinds)
        raise ValidationError("method", f"{entry.name!r} is not for {kind} features; use {usable}")
    return entry.judge(entry.compute(reference, current, kind), threshold)
