"""Inhibition: a firing alert that mutes another, by rules like Alertmanager's
``inhibit_rules``. Pure.

A rule has ``source`` matchers (the alerts that mute), ``target`` matchers (the alerts
that are muted) and ``equal`` label names whose values must be the same on both. As in
Alertmanager:

* only firing alerts inhibit (the caller passes those as :class:`SourceAlert`);
* an alert never inhibits itself (same fingerprint), and when the target matches the
  source matchers too, only sources that do *not* match the target matchers can mute it
  (Alertmanager's ``excludeTwoSidedMatch``: two alerts of the same kind never mute each
  other).

Unlike Alertmanager, a rule is **strict** by default: an ``equal`` label missing (or empty)
on both alerts does not count as equal. Alertmanager compares ``"" == ""`` and so lets a
P1 on one unlabelled alert mute every other unlabelled alert; ``strict: false`` restores
its behaviour.

Vigil adds one label to a source alert's labels: ``vigil_severity`` (``P1``…``P4``), the
severity of the incident the source alert belongs to, so a rule can say "a P1 on a service
mutes its symptom alerts" (:data:`DEFAULT_RULES`). A target already in an incident may be
given its incident's severity too (``target_severity``), so that the alerts of one P1
incident do not mute each other by the two-sided rule above.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.incidents.intake.fingerprint import fingerprint
from bot.silences.matchers import Matcher, matches_all

__all__ = [
    "DEFAULT_RULES",
    "VIGIL_SEVERITY",
    "InhibitRule",
    "Inhibition",
    "SourceAlert",
    "inhibition_words",
    "inhibitor",
]

VIGIL_SEVERITY = "vigil_severity"
"""The label Vigil adds to a source alert: its incident's severity, P1 to P4."""


@dataclass(frozen=True)
class InhibitRule:
    """One ``inhibit_rules:`` entry: ``source`` alerts mute ``target`` alerts that agree on
    the ``equal`` labels."""

    name: str
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()
    strict: bool = True


@dataclass(frozen=True)
class SourceAlert:
    """A firing alert that could inhibit others, and the incident it belongs to."""

    labels: Mapping[str, str]
    fingerprint: str
    incident_id: int | None = None
    severity: str | None = None  # the incident's, P1..P4

    def rule_labels(self) -> Mapping[str, str]:
        """The labels a rule sees: the alert's own, plus ``vigil_severity``."""
        return _with_severity(self.labels, self.severity)


@dataclass(frozen=True)
class Inhibition:
    """Which rule and which firing alert mute a target."""

    rule: str
    fingerprint: str  # the source alert's
    incident_id: int | None
    severity: str | None
    equal: tuple[tuple[str, str], ...] = field(default=())  # the shared labels and values


DEFAULT_RULES: tuple[InhibitRule, ...] = (
    InhibitRule(
        name="p1-mutes-symptoms",
        source=(Matcher(VIGIL_SEVERITY, "P1"),),
        target=(Matcher("severity", "critical|page", is_regex=True, is_equal=False),),
        equal=("service",),
    ),
)
"""What Vigil does with no ``inhibit_rules:`` section: while a P1 incident has a firing
alert on a service, the other alerts of that service are muted, except those labelled
``severity: critical`` or ``severity: page``, which still page. Strict: alerts without a
``service`` label are never muted by it."""


def _with_severity(labels: Mapping[str, str], severity: str | None) -> Mapping[str, str]:
    return {**labels, VIGIL_SEVERITY: severity} if severity else labels


def _equal(rule: InhibitRule, source: Mapping[str, str], target: Mapping[str, str]) -> bool:
    for name in rule.equal:
        value = source.get(name, "")
        if value != target.get(name, "") or (rule.strict and value == ""):
            return False
    return True


def inhibitor(
    rule_set: Sequence[InhibitRule],
    target_labels: Mapping[str, str],
    sources: Sequence[SourceAlert],
    *,
    target_severity: str | None = None,
) -> Inhibition | None:
    """The first rule (in order) and source alert (in the order given) that mute an alert
    with ``target_labels``, or None when nothing does. ``sources`` are firing alerts;
    ``target_severity`` is the severity of the incident the target is already in, if any."""
    own = fingerprint(target_labels)
    target = _with_severity(target_labels, target_severity)
    for rule in rule_set:
        if not matches_all(rule.target, target):
            continue
        two_sided = matches_all(rule.source, target)
        for source in sources:
            labels = source.rule_labels()
            if source.fingerprint == own or not matches_all(rule.source, labels):
                continue
            if not _equal(rule, labels, target):
                continue
            if two_sided and matches_all(rule.target, labels):
                continue  # two alerts of the same kind never mute each other
            shared = tuple((name, labels.get(name, "")) for name in rule.equal)
            return Inhibition(
                rule.name, source.fingerprint, source.incident_id, source.severity, shared
            )
    return None


def inhibition_words(inh: Inhibition) -> str:
    """How the timeline says it: ``inhibited by #12 (P1 on service payments, rule
    p1-mutes-symptoms)``; an alert outside any incident is named by its fingerprint."""
    who = f"#{inh.incident_id}" if inh.incident_id is not None else f"alert {inh.fingerprint}"
    where = ", ".join(f"{name} {value}" for name, value in inh.equal if value)
    what = " on ".join(part for part in (inh.severity or "", where) if part)
    if what and not inh.severity:
        what = f"on {what}"
    return f"inhibited by {who} ({what + ', ' if what else ''}rule {inh.rule})"
