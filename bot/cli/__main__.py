"""``python -m bot.cli``: what the split serve's supervisor starts its children with."""

from __future__ import annotations

import sys

from bot.cli.main import main

sys.exit(main())
