"""P1-P4 severity for an incident, decided by a table of rules over its firing signals.

Why a table: every team draws the P1/P2 line differently (a 2 % error rate is a page for
payments, noise for a batch scorer), so the rules are data that ``vigil.yaml``
(``classification:``) can replace without touching code; ``DEFAULT_POLICY`` is the product
brief's table. Why pure: no I/O and no clock, only stdlib and ``bot.errors``, so every rule
and every reason string is tested directly, and ``vigil check`` can validate a policy offline.

Rules look at *all* firing signals of one incident together, so a drift alert plus an
accuracy alert can add up to P2 while either alone is weaker, and several alerts raise the
incident to the highest level any rule reaches. The reason is written for someone woken at
2 a.m.: it names each matched condition with its real value, e.g.
``P1: error rate 7.5% > 5% on service payments``.

Turning an alert into a ``Signal`` lives in ``bot.incidents.signals`` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, cast, get_args

from bot.config_checks import unknown_key
from bot.errors import ConfigError
from bot.incidents.severity import SEVERITIES, Severity
from bot.incidents.signals import PERCENT_KINDS
from bot.incidents.signals import Signal as Signal  # re-exported: callers import from here
from bot.incidents.signals import SubjectPolicy as SubjectPolicy
from bot.incidents.signals import signal_from_alert as signal_from_alert

Op = Literal[">", ">=", "<", "<=", "below_sla", "above_sla", "present"]
OPS: tuple[Op, ...] = get_args(Op)
NUMERIC_OPS: frozenset[str] = frozenset({">", ">=", "<", "<="})

#: Kinds that ``Condition(signal="quality")`` stands for.
QUALITY_KINDS: frozenset[str] = frozenset(
    {"accuracy", "accuracy_estimated", "confidence", "data_quality"}
)


def highest(a: Severity, b: Severity) -> Severity:
    """Return the more severe of two severities (P1 is the highest)."""
    return a if SEVERITIES.index(a) <= SEVERITIES.index(b) else b


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


@dataclass(frozen=True)
class Classification:
    """The outcome: ``rule`` is the matched rule's name, ``"hint"``, or None for the default."""

    severity: Severity
    reason: str
    rule: str | None
    kinds: int = 0
    """How many kinds of signal the matched rule's story joins ("drift with estimated
    accuracy" is 2); 0 when no rule matched."""

    @property
    def headline(self) -> str | None:
        """The story as an incident title, when it joins several kinds of signal.

        An incident grouped from several signals (a model's drift, its estimated accuracy,
        its confidence) was titled by whichever alert came first, while its "Why" told the
        story; the title a responder scans in a list should be that story."""
        if self.kinds < 2:
            return None
        story = self.reason.partition(": ")[2]
        return story[:1].upper() + story[1:] if story else None


def _c(signal: str, op: Op, value: float | None = None, critical: bool | None = None) -> Condition:
    return Condition(signal, op, value, critical)


# Accuracy estimated from confidence counts as low quality beside drift: drift plus a
# model that itself expects to miss its SLA is the story before the labels confirm it.
# Alone it stays at its hint (a warning): the estimate is an early signal, not a verdict.
_QUALITY_LOW = AnyOf(
    (
        _c("accuracy", "below_sla"),
        _c("accuracy_estimated", "below_sla"),
        _c("confidence", "below_sla"),
        _c("data_quality", "<", 0.95),
    )
)
DEFAULT_RULES: tuple[Rule, ...] = (
    # P1: users are harmed now.
    Rule("P1", "service-down", (_c("service_down", "present"),)),
    Rule("P1", "error-rate-high", (_c("error_rate", ">", 0.05),)),
    Rule("P1", "model-below-sla-critical", (_c("accuracy", "below_sla", critical=True),)),
    # P2: major degradation. Drift-with-quality first: its reason says the most.
    Rule("P2", "drift-with-quality", (_c("psi", ">", 0.2), _QUALITY_LOW)),
    Rule("P2", "model-below-sla", (_c("accuracy", "below_sla"),)),
    Rule("P2", "latency-above-sla", (_c("latency_p95", "above_sla"),)),
    Rule("P2", "gpu-memory-critical", (_c("gpu_memory", ">", 0.95),)),
    # A hardware Xid (fell off the bus, uncorrectable ECC …): the GPU is likely bad and its
    # work is failing or about to; a person must drain it. Paged, like every P2.
    Rule("P2", "gpu-hardware-fault", (_c("gpu_hardware", "present"),)),
    # P3: a single early-warning signal.
    Rule("P3", "drift", (_c("psi", ">", 0.2),)),
    Rule("P3", "cache-hit-low", (_c("cache_hit", "<", 0.40),)),
    Rule("P3", "gpu-memory-high", (_c("gpu_memory", ">", 0.85),)),
    Rule("P3", "error-rate-elevated", (_c("error_rate", ">", 0.01),)),
)

DEFAULT_HINTS: Mapping[str, Severity] = MappingProxyType(
    {
        "critical": "P1",
        "error": "P2",
        "high": "P2",
        "warning": "P3",
        "info": "P4",
        "low": "P4",
        **{s.lower(): s for s in SEVERITIES},
    }
)


@dataclass(frozen=True)
class Policy:
    """Rules (any order; P1 rules are tried before P2, then table order), hint map, default.

    ``hint_map`` maps a sender's severity label (lower-case) to a severity and is used only
    when no rule matches; ``default`` applies when neither rules nor hints decide.
    """

    rules: tuple[Rule, ...]
    hint_map: Mapping[str, Severity] = field(default_factory=lambda: DEFAULT_HINTS)
    default: Severity = "P4"

    @classmethod
    def from_config(cls, raw: object, *, where: str = "vigil.yaml") -> Policy:
        """Build a policy from ``vigil.yaml``'s ``classification:`` mapping (None: defaults).

        ``rules`` replaces the default table entirely; ``hints`` are merged over the default
        hint map; ``default`` is optional. Raises ConfigError naming the offending key, e.g.
        ``classification.rules[1].all_of[0].value``.
        """
        return _PolicyParser(where).policy(raw)


DEFAULT_POLICY = Policy(rules=DEFAULT_RULES)


# --- classification -------------------------------------------------------------------------


def classify(signals: Sequence[Signal], policy: Policy = DEFAULT_POLICY) -> Classification:
    """Return the incident's severity and a one-line reason, considering all its signals."""
    default = policy.default
    label = "informational" if default == "P4" else "policy default"
    if not signals:
        return Classification(default, f"{default}: {label} — no alerts yet", None)
    for severity in SEVERITIES:
        for rule in policy.rules:
            if rule.severity == severity:
                parts = _match(rule, signals)
                if parts is not None:
                    kinds = len({s.kind for _, s in parts})
                    return Classification(severity, f"{severity}: {_join(parts)}", rule.name, kinds)
    hinted = _from_hints(signals, policy.hint_map)
    if hinted is not None:
        return hinted
    listed = [_subject(s, _brief(s)) for s in signals[:5]]
    more = f" and {len(signals) - 5} more" if len(signals) > 5 else ""
    return Classification(
        default, f"{default}: {label} — no rule matched (signals: {', '.join(listed)}{more})", None
    )


def _match(rule: Rule, signals: Sequence[Signal]) -> list[tuple[Condition, Signal]] | None:
    """Each ``all_of`` entry's satisfying (condition, signal), or None if any entry fails.

    Where several signals satisfy a condition, prefer the subject already mentioned so the
    reason reads as one story ("drift on model X with accuracy below SLA" on the same X).
    """
    parts: list[tuple[Condition, Signal]] = []
    for entry in rule.all_of:
        found: tuple[Condition, Signal] | None = None
        for cond in entry.conditions if isinstance(entry, AnyOf) else (entry,):
            hits = [s for s in signals if cond.holds_for(s)]
            if hits:
                prev = parts[-1][1].subject if parts else None
                found = (cond, next((s for s in hits if s.subject == prev), hits[0]))
                break
        if found is None:
            return None
        parts.append(found)
    return parts


def _from_hints(
    signals: Sequence[Signal], hint_map: Mapping[str, Severity]
) -> Classification | None:
    best: tuple[Severity, Signal] | None = None
    for s in signals:
        sev = hint_map.get((s.severity_hint or "").strip().lower())
        if sev is not None and (best is None or highest(sev, best[0]) != best[0]):
            best = (sev, s)
    if best is None:
        return None
    sev, s = best
    name = s.alertname or _NAMES.get(s.kind, s.kind)
    why = (
        "no value to check against the policy"
        if s.value is None
        else f"no policy rule matched its value {_fmt(s.kind, s.value)}"
    )
    reason = f"{sev}: {name} on {s.subject} is labelled severity={s.severity_hint} ({why})"
    return Classification(sev, reason, "hint")


# --- reason text ----------------------------------------------------------------------------

_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "psi": "input drift PSI",
        "error_rate": "error rate",
        "gpu_memory": "GPU memory",
        "cache_hit": "cache hit rate",
        "latency_p95": "p95 latency",
        "accuracy": "accuracy",
        "accuracy_estimated": "estimated accuracy",
        "confidence": "confidence",
        "data_quality": "data quality",
        "service_down": "service down",
    }
)
_SHOWN_AS_PERCENT = frozenset({"error_rate", "gpu_memory", "cache_hit"})
_TWO_DECIMALS = QUALITY_KINDS


def _trim(x: float, places: int) -> str:
    text = f"{round(x, places):.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _fmt(kind: str, x: float) -> str:
    """Compact, unit-aware value: ``7.5%``, ``812 ms``, ``0.90`` (quality), ``0.31``."""
    if kind in _SHOWN_AS_PERCENT:
        return f"{_trim(x * 100, 2)}%"
    if kind == "latency_p95":
        return f"{_trim(x, 1)} ms"
    if kind in _TWO_DECIMALS:
        whole, _, frac = _trim(x, 4).partition(".")
        return f"{whole}.{frac.ljust(2, '0')}"
    return _trim(x, 3)


def _brief(s: Signal) -> str:
    if s.value is None:
        return s.alertname or _NAMES.get(s.kind, s.kind)
    return f"{_NAMES.get(s.kind, s.kind.replace('_', ' '))} {_fmt(s.kind, s.value)}"


def _subject(s: Signal, text: str) -> str:
    return f"{text} on {'critical ' if s.critical else ''}{s.subject}"


def _describe(cond: Condition, s: Signal) -> tuple[str, bool]:
    """Text for one matched condition, and whether it already names the subject."""
    name = _NAMES.get(s.kind, s.kind.replace("_", " "))
    crit = "critical " if s.critical else ""
    if cond.op == "present":
        if s.kind == "service_down":
            return f"{crit}{s.subject} is down", True
        if s.kind == "gpu_hardware":
            count = int(s.value) if s.value is not None else 0
            xids = (
                f"{count} hardware Xid error{'s' if count != 1 else ''}"
                if count
                else "hardware Xid"
            )
            return f"likely bad GPU: {xids} in the last hour", False
        shown = _fmt(s.kind, s.value) if s.value is not None else "alert firing"
        return f"{name} {shown}", False
    v = _fmt(s.kind, cast(float, s.value))
    if cond.op in NUMERIC_OPS:
        return f"{name} {v} {cond.op} {_fmt(s.kind, cast(float, cond.value))}", False
    side = "below" if cond.op == "below_sla" else "above"
    return f"{name} {v} {side} SLA {_fmt(s.kind, cast(float, s.threshold))}", False


def _join(parts: Sequence[tuple[Condition, Signal]]) -> str:
    """Describe each part; name a subject only when it changes ("... on X with ...")."""
    texts: list[str] = []
    named: str | None = None
    for cond, s in parts:
        text, has_subject = _describe(cond, s)
        if not has_subject and s.subject != named:
            text = _subject(s, text)
        named = s.subject
        texts.append(text)
    return " with ".join(texts)


# --- configuration --------------------------------------------------------------------------


class _PolicyParser:
    """Validates ``classification:`` and builds a Policy; every error names its key path."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, where=self.where, key=key)

    def mapping(
        self, raw: object, key: str, allowed: set[str], required: tuple[str, ...] = ()
    ) -> Mapping[str, object]:
        if not isinstance(raw, Mapping):
            raise self.fail(key, f"expected a mapping, got {type(raw).__name__}")
        unknown = sorted(str(k) for k in raw if k not in allowed)
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}", unknown_key(sorted(allowed)))
        for name in required:
            if name not in raw:
                raise self.fail(f"{key}.{name}", "missing")
        return cast(Mapping[str, object], raw)

    def severity(self, raw: object, key: str) -> Severity:
        text = raw.strip().upper() if isinstance(raw, str) else raw
        if text not in SEVERITIES:
            raise self.fail(key, f"severity must be one of P1, P2, P3, P4, got {raw!r}")
        return text

    def text(self, raw: object, key: str) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise self.fail(key, f"expected a non-empty string, got {raw!r}")
        return raw.strip()

    def policy(self, raw: object) -> Policy:
        if raw is None:
            return DEFAULT_POLICY
        top = self.mapping(raw, "classification", {"rules", "hints", "default"})
        rules = DEFAULT_RULES
        if "rules" in top:
            items = top["rules"]
            if not isinstance(items, list):
                raise self.fail("classification.rules", "expected a list of rules")
            rules = tuple(self.rule(r, f"classification.rules[{i}]") for i, r in enumerate(items))
            names = [r.name for r in rules]
            for i, name in enumerate(names):
                if name in names[:i]:
                    raise self.fail(f"classification.rules[{i}].name", f"duplicate {name!r}")
        hints = dict(DEFAULT_HINTS)
        raw_hints = top.get("hints")
        if raw_hints is not None:
            if not isinstance(raw_hints, Mapping):
                raise self.fail("classification.hints", "expected a mapping of label: P1..P4")
            for label, sev in raw_hints.items():
                key = f"classification.hints.{label}"
                hints[self.text(label, key).lower()] = self.severity(sev, key)
        default = self.severity(top.get("default", "P4"), "classification.default")
        return Policy(rules, MappingProxyType(hints), default)

    def rule(self, raw: object, key: str) -> Rule:
        fields = ("severity", "name", "all_of")
        r = self.mapping(raw, key, set(fields), fields)
        items = r["all_of"]
        if not isinstance(items, list) or not items:
            raise self.fail(f"{key}.all_of", "expected a non-empty list of conditions")
        all_of = tuple(self.entry(c, f"{key}.all_of[{i}]") for i, c in enumerate(items))
        return Rule(
            self.severity(r["severity"], f"{key}.severity"),
            self.text(r["name"], f"{key}.name"),
            all_of,
        )

    def entry(self, raw: object, key: str) -> Condition | AnyOf:
        if isinstance(raw, Mapping) and "any_of" in raw:
            items = self.mapping(raw, key, {"any_of"})["any_of"]
            if not isinstance(items, list) or not items:
                raise self.fail(f"{key}.any_of", "expected a non-empty list of conditions")
            return AnyOf(
                tuple(self.condition(c, f"{key}.any_of[{i}]") for i, c in enumerate(items))
            )
        return self.condition(raw, key)

    def condition(self, raw: object, key: str) -> Condition:
        c = self.mapping(raw, key, {"signal", "op", "value", "critical"}, ("signal", "op"))
        signal = self.text(c["signal"], f"{key}.signal").lower()
        op = c["op"]
        if op not in OPS:
            quoted = ", ".join(f'"{o}"' for o in OPS)
            raise self.fail(
                f"{key}.op", f"unknown op {op!r}; expected one of {quoted} (quote them in YAML)"
            )
        value = c.get("value")
        if op in NUMERIC_OPS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(f"{key}.value", f"op {op!r} needs a number, got {value!r}")
            if signal in PERCENT_KINDS and not 0 <= value <= 1:
                raise self.fail(
                    f"{key}.value", f"{signal} is a fraction 0..1 (0.05 for 5%), got {value!r}"
                )
        elif value is not None:
            raise self.fail(
                f"{key}.value", f"op {op!r} compares with the signal's own SLA; remove value"
            )
        critical = c.get("critical")
        if critical is not None and not isinstance(critical, bool):
            raise self.fail(f"{key}.critical", f"expected true or false, got {critical!r}")
        return Condition(signal, op, None if value is None else float(value), critical)
