"""The pure modules stay pure: no database, web, network or chat library behind them.

Pure logic (classification, fingerprints, states, the command parser, payload parsing) is
tested directly and reused by every front end; an I/O import sneaking in would break that.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"
PURE = [
    "incidents/classify.py",
    "incidents/signals.py",
    "incidents/fingerprint.py",
    "incidents/states.py",
    "incidents/severity.py",
    "pagination.py",
    "durations.py",
    "clock.py",
    "yamlfile.py",
    "retry_outcome.py",
    "chat/commands/parse.py",
    "chat/commands/rollback.py",
    "chat/commands/types.py",
    "chat/slack/blocks.py",
    "chat/slack/modals.py",
    "outbox/retry.py",
    "rules/schema.py",
    "rules/baseline.py",
    "rules/evaluate.py",
    "rules/effective.py",
    "rules/alerts.py",
    "oncall/paging/escalation.py",
    "oncall/schedules/roster.py",
    "oncall/status.py",
    "oncall/settings.py",
    "oncall/schedules/layers.py",
    "oncall/schedules/config.py",
    "oncall/schedules/handoff.py",
    "oncall/schedules/ical.py",
    "oncall/schedules/override_plan.py",
    "oncall/paging/routing.py",
    "oncall/paging/config.py",
    "oncall/paging/plans.py",
    "oncall/snooze/progress.py",
    "oncall/calendar.py",
    "oncall/snooze/rules.py",
    "oncall/snooze/metrics.py",
    "oncall/sla/clocks.py",
    "oncall/sla/config.py",
    "oncall/sla/report.py",
    "oncall/sla/report_text.py",
    "notify/base.py",
    "notify/fallback.py",
    "notify/retry_plan.py",
    "notify/pagerduty_webhook.py",
    "ingest/model.py",
    "ingest/validate.py",
    "ingest/alertmanager.py",
    "ingest/generic.py",
    "heartbeats/spec.py",
    "heartbeats/check.py",
    "evidence/charts.py",
    "evidence/plan.py",
]
FORBIDDEN = (
    "aiohttp",
    "sqlalchemy",
    "sqlmodel",
    "asyncpg",
    "aiosqlite",
    "slack_bolt",
    "slack_sdk",
    "bot.db",
    "bot.tables",
    "bot.web",
    "bot.app",
    "bot.sources",
    "bot.chat.slack.front",
    "bot.chat.slack.deliver",
    "bot.chat.slack.backend",
    "bot.chat.slack.wiring",
    "bot.incidents.service",
    "bot.incidents.store",
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_no_io(module: str) -> None:
    bad = {
        name
        for name in _imports(BOT / module)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    }
    assert not bad, f"{module} imports I/O modules: {sorted(bad)}"


def test_core_never_imports_slack_bolt() -> None:
    offenders = [
        str(p.relative_to(BOT))
        for p in BOT.rglob("*.py")
        if "chat/slack" not in p.as_posix() and any(n.startswith("slack_bolt") for n in _imports(p))
    ]
    assert offenders == []
