"""What a classification rule is made of: conditions over an incident's signals, any-of
groups, and the rule that gives a severity when all its entries hold. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from bot.incidents.policy.signals import Signal
from bot.incidents.severity import Severity

Op = Literal[">", ">=", "<", "<=", "below_sla", "above_sla", "present"]
OPS: tuple[Op, ...] = get_args(Op)
NUMERIC_OPS: frozenset[str] = frozenset({">", ">=", "<", "<="})

#: Kinds that ``Condition(signal="quality")`` stands for.
QUALITY_KINDS: frozenset[str] = frozenset(
    {"accuracy", "accuracy_estimated", "confidence", "data_quality"}
)


@dataclass(frozen=True)
class Condition:
    """One test against the incident's signals; it holds if *any* signal satisfies it.

    ``signal`` is a kind, or ``"quality"`` for any of accuracy / confidence / data_quality.
    ``below_sla`` / ``above_sla`` compare the signal's value with its own threshold (both
    needed); ``present`` only needs a signal of that kind. A signal without a value can only
    satisfy ``present``. ``critical`` (when not None) also requires the subject's flag.
    """

    signal: str
    op: Op
    value: float | None = None
    critical: bool | None = None

    def holds_for(self, s: Signal) -> bool:
        kinds = QUALITY_KINDS if self.signal == "quality" else {self.signal}
        if s.kind not in kinds or (self.critical is not None and s.critical != self.critical):
            return False
        if self.op == "present":
            return True
        v, t = s.value, s.threshold
        if self.op in NUMERIC_OPS:
            t = self.value
        if v is None or t is None:
            return False
        if self.op in (">", "above_sla"):
            return v > t
        if self.op in ("<", "below_sla"):
            return v < t
        return v >= t if self.op == ">=" else v <= t


@dataclass(frozen=True)
class AnyOf:
    """Holds when at least one of ``conditions`` holds (the first that does is reported)."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Rule:
    """``severity`` applies when every entry of ``all_of`` holds."""

    severity: Severity
    name: str
    all_of: tuple[Condition | AnyOf, ...]
