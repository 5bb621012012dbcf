"""``vigil demo``: the scripted story, on its own settings and a throwaway database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.runtime.demo import run_demo


def main(args: argparse.Namespace) -> int:
    """Play the story on stdout; touches nothing of the user's (no vigil.yaml is read)."""
    logging.basicConfig(level="WARNING", stream=sys.stderr)
    return asyncio.run(run_demo(sys.stdout))
