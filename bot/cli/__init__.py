"""The ``vigil`` command line, one module per verb.

:mod:`bot.cli.main` parses the arguments (the tree is :mod:`bot.cli.parser`) and only then
imports the verb's module, which imports the rooms that verb needs: ``vigil --help`` loads
no database library, ``vigil rules list`` no HTTP server, and only ``run``/``serve`` load the
whole composition root (:mod:`bot.runtime.app`).
"""

from __future__ import annotations

from bot.cli.main import main as main
