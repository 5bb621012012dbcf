"""``vigil rules list``: every effective rule on one line, ON or OFF and why, and how it
judges a subject while watching it closely after a fix (``sensitivity:``)."""

from __future__ import annotations

import argparse
import os

from bot.config.load import load_settings
from bot.rules.configured import check_rules
from bot.rules.listing import rule_lines


def main(args: argparse.Namespace) -> int:
    """Print the rules; a broken rules file is a ``ConfigError`` naming it (exit 1)."""
    settings = load_settings(args.config, dict(os.environ))
    for line in rule_lines(check_rules(settings), settings.sensitivity):
        print(line)
    return 0
