"""Post-mortem drafts and response-time figures, from an incident view.

``report`` holds the maths (MTTA, time to contain, MTTR, detection delay) so reports and
drafts agree; ``draft`` renders the Jinja template. Callers (chat, CLI, resolve hook) import
from here.
"""

from bot.postmortem.draft import BUILTIN_PREFIX, TEMPLATE, AlertFact, PostmortemRenderer
from bot.postmortem.report import (
    NEEDS_POSTMORTEM,
    Timings,
    needs_postmortem,
    timings,
)

__all__ = [
    "BUILTIN_PREFIX",
    "NEEDS_POSTMORTEM",
    "TEMPLATE",
    "AlertFact",
    "PostmortemRenderer",
    "Timings",
    "needs_postmortem",
    "timings",
]
