"""The ``inhibit_rules:`` section of ``vigil.yaml``, validated by a pydantic model
(:mod:`bot.config.model`) into :class:`~bot.silences.inhibit.InhibitRule` values, or a
ConfigError naming the exact key. Pure::

    inhibit_rules:
      - name: db-down-mutes-api          # optional; default inhibit_rules[N]
        source_matchers: ['alertname="DatabaseDown"']
        target_matchers: ['severity!~"critical|page"']
        equal: [service]
        strict: true                     # default; false: a label missing on both is equal

Matchers are written as in Alertmanager's ``inhibit_rules`` (``parse_matcher``). Left out,
the section is :data:`~bot.silences.inhibit.DEFAULT_RULES` (a P1 mutes its service's
symptom alerts); ``inhibit_rules: []`` turns inhibition off.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import PlainValidator

from bot.config.model import ConfigModel, problem, validate_section
from bot.core.errors import ConfigError
from bot.silences.inhibit import DEFAULT_RULES, InhibitRule
from bot.silences.matchers import Matcher, MatcherError, is_label_name, parse_matcher

__all__ = ["parse_inhibit_rules"]

_LIST = 'must be a list of matchers like ["alertname=\\"DatabaseDown\\""]'


def _matchers(value: object) -> tuple[Matcher, ...]:
    if not isinstance(value, list):
        raise problem(_LIST)
    if not value:
        raise problem("must list at least one matcher ([] would take every alert)")
    found: list[Matcher] = []
    for j, text in enumerate(value):
        if not isinstance(text, str):
            raise problem(
                'must be a matcher written as text, e.g. "service=\\"payments\\""', at=(j,)
            )
        try:
            found.append(parse_matcher(text))
        except MatcherError as exc:
            raise problem(str(exc), at=(j,)) from None
    return tuple(found)


def _equal(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise problem("must be a list of label names, e.g. [service]")
    for j, name in enumerate(value):
        if not isinstance(name, str) or not is_label_name(name):
            raise problem("must be a label name (letters, digits and _)", at=(j,))
    return tuple(value)


MatcherList = Annotated[tuple[Matcher, ...], PlainValidator(_matchers)]


class _Rule(ConfigModel):
    """One rule as written. (Fields in alphabetical order: the unknown-key message lists
    them so.)"""

    equal: Annotated[tuple[str, ...], PlainValidator(_equal)] = ()
    name: str | None = None
    source_matchers: MatcherList
    strict: bool = True
    target_matchers: MatcherList


def parse_inhibit_rules(
    raw: object, *, where: str, key: str = "inhibit_rules"
) -> tuple[InhibitRule, ...]:
    """``inhibit_rules:`` → the rules in order, or ConfigError naming the exact key
    (``inhibit_rules[1].source_matchers[0]: …``). Absent (None): the default rules."""
    if raw is None:
        return DEFAULT_RULES
    if not isinstance(raw, list):
        raise ConfigError(
            "must be a list of rules with source_matchers, target_matchers and equal "
            "([] for no inhibition)",
            where=where,
            key=key,
        )
    rules: list[InhibitRule] = []
    for i, item in enumerate(raw):
        at = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(
                "must be a mapping with source_matchers and target_matchers", where=where, key=at
            )
        rule = validate_section(_Rule, item, where=where, key=at)
        name = rule.name if rule.name is not None else at
        if not name.strip():
            raise ConfigError("must not be empty", where=where, key=f"{at}.name")
        if any(r.name == name for r in rules):
            raise ConfigError(
                f"{name!r} is the name of an earlier rule", where=where, key=f"{at}.name"
            )
        rules.append(
            InhibitRule(name, rule.source_matchers, rule.target_matchers, rule.equal, rule.strict)
        )
    return tuple(rules)
