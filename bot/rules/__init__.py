"""Rules: conditions on samples that become alerts (thresholds, ``for``, baselines, absence).

``load_rules`` reads ``rules/*.yaml`` (the bundled ``default.yaml`` first, yours overriding
by name), ``effective`` says which rules run and why the others do not, ``evaluate`` turns
samples into ``AlertChange``s and ``to_alert_in`` hands those to the incident pipeline.
Everything here is pure apart from reading the rule files, except ``runner`` (not
re-exported): the loop that polls the sources and hands the changes to the incident pipeline.
"""

from bot.rules.alerts import AlertChange, to_alert_in
from bot.rules.effective import RuleStatus, effective, threshold_for
from bot.rules.evaluate import EvalState, SeriesState, evaluate
from bot.rules.loader import default_rules_file, load_rules, parse_rules
from bot.rules.schema import BaselineSpec, Point, Rule, Series

__all__ = [
    "AlertChange",
    "BaselineSpec",
    "EvalState",
    "Point",
    "Rule",
    "RuleStatus",
    "Series",
    "SeriesState",
    "default_rules_file",
    "effective",
    "evaluate",
    "load_rules",
    "parse_rules",
    "threshold_for",
    "to_alert_in",
]
