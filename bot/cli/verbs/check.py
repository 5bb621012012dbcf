"""``vigil check``: validate vigil.yaml, the rules, playbooks and templates; say what loads."""

from __future__ import annotations

import argparse
import os

from bot.runtime.checks import run_checks


def main(args: argparse.Namespace) -> int:
    """Print the summary and who gets paged; a problem is a ``ConfigError`` (exit 1)."""
    report = run_checks(
        args.config, dict(os.environ), playbooks=args.playbooks, templates=args.templates
    )
    print(report.summary())
    print(report.registry)
    for line in report.paging:
        print(line)
    return 0
