"""``vigil``'s entry point: parse the arguments, then run the verb's module.

The verb's module is imported only once the verb is known (that import is the dispatch):
each imports, at its top, exactly the rooms its verb needs, so a light verb never pays for
the libraries of a heavy one.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import cast

from bot.cli.errors import StartupError
from bot.cli.parser import parser
from bot.core.errors import ConfigError

# The verb on the command line -> its module under bot.cli; each has ``main(args) -> int``.
VERBS = {
    "run": "serve",
    "serve": "serve",
    "check": "check",
    "rules": "rules",
    "demo": "demo",
    "postmortem": "postmortem",
    "model": "model.registry",
    "schedule": "schedule",
    "incidents": "incidents",
    "report": "report",
    "silence": "silence",
}
# Actions with a module of their own: the three on reference profiles, which load the
# model-quality maths (numpy), and for ``reference`` the dataset reader (pyarrow); the
# rollouts, which load the judge (numpy).
ACTIONS = {
    ("model", "reference"): "model.reference",
    ("model", "references"): "model.references",
    ("model", "profile"): "model.profile",
    ("model", "shadow"): "model.shadow",
    ("model", "canary"): "model.rollout",
    ("model", "ab"): "model.rollout",
    ("model", "rollout"): "model.rollout",
}


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    action: str = getattr(args, f"{args.command}_command", None) or ""
    name = ACTIONS.get((args.command, action), VERBS[args.command])
    module = importlib.import_module(f"bot.cli.verbs.{name}")
    verb = cast(Callable[[argparse.Namespace], int], module.main)
    try:
        return verb(args)
    except ConfigError as exc:  # vigil.yaml, or found while starting: a playbook, a rule
        print(f"vigil: configuration error: {exc}", file=sys.stderr)
        return 1
    except (OSError, StartupError) as exc:
        print(f"vigil: cannot start: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
