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
    for line in report.paging:
        print(line)
    if report.registry:  # an outside registry; the built-in default goes unsaid
        print(report.registry)
    return 0
