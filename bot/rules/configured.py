"""Which alerting rules Vigil runs, and which of them are on: the bundled rules, then
``rules_dir/*.yaml``, loaded with the strict loader. Shared by ``vigil check``, ``vigil rules
list`` and start-up's checks, and apart from them so that listing the rules loads the rules
room alone (no templates, playbooks or notify channels).
"""

from __future__ import annotations

from bot.config.load import Settings, rule_files
from bot.rules.effective import RuleStatus, effective
from bot.rules.loader import load_rules


def check_rules(settings: Settings) -> list[RuleStatus]:
    """Load the alerting rules Vigil would run (bundled, then ``rules_dir/*.yaml``) with the
    strict loader, so a bad file is reported by file and key, and say which are on."""
    rules = load_rules(rule_files(settings))
    return effective(
        rules, settings.incidents.models, settings.incidents.services, settings.heartbeats
    )
