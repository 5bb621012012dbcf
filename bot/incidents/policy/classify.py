"""P1-P4 severity for an incident, decided by a table of rules over its firing signals.

Why a table: every team draws the P1/P2 line differently (a 2 % error rate is a page for
payments, noise for a batch scorer), so the rules are data that ``vigil.yaml``
(``classification:``) can replace without touching code; ``DEFAULT_POLICY`` is the product
brief's table. Why pure: no I/O and no clock, only stdlib and ``bot.core.errors``, so every rule
and every reason string is tested directly, and ``vigil check`` can validate a policy offline.

Rules look at *all* firing signals of one incident together, so a drift alert plus an
accuracy alert can add up to P2 while either alone is weaker, and several alerts raise the
incident to the highest level any rule reaches. The reason is written for someone woken at
2 a.m.: it names each matched condition with its real value, e.g.
``P1: error rate 7.5% > 5% on service payments``.

Turning an alert into a ``Signal`` lives in ``bot.incidents.policy.signals`` (re-exported here).
The policy's parts are ``bot.incidents.policy``: its conditions and rules, the default
table, the ``classification:`` parser, and the wording of a reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.incidents.policy.conditions import AnyOf, Condition, Rule
from bot.incidents.policy.defaults import DEFAULT_HINTS, DEFAULT_RULES
from bot.incidents.policy.parser import parse_classification
from bot.incidents.policy.reasons import NAMES, brief, fmt, join, subject
from bot.incidents.policy.signals import Signal as Signal  # re-exported: callers import from here
from bot.incidents.policy.signals import SubjectPolicy as SubjectPolicy
from bot.incidents.policy.signals import signal_from_alert as signal_from_alert
from bot.incidents.severity import SEVERITIES, Severity, highest


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
        parts = parse_classification(raw, where=where)
        return DEFAULT_POLICY if parts is None else cls(*parts)


DEFAULT_POLICY = Policy(rules=DEFAULT_RULES)


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
                    return Classification(severity, f"{severity}: {join(parts)}", rule.name, kinds)
    hinted = _from_hints(signals, policy.hint_map)
    if hinted is not None:
        return hinted
    listed = [subject(s, brief(s)) for s in signals[:5]]
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
    name = s.alertname or NAMES.get(s.kind, s.kind)
    why = (
        "no value to check against the policy"
        if s.value is None
        else f"no policy rule matched its value {fmt(s.kind, s.value)}"
    )
    reason = f"{sev}: {name} on {s.subject} is labelled severity={s.severity_hint} ({why})"
    return Classification(sev, reason, "hint")
