"""The layers hold: pure modules load nothing that does I/O, nothing imports in a loop, and
nothing below the front doors imports them.

Pure logic (classification, fingerprints, states, the command parser, payload parsing, the
model-quality maths, the on-call rooms' rules) is tested directly and reused by every front
end; an I/O import sneaking in would break that. What counts is what a module *loads*: each
pure module is imported in a fresh interpreter and ``sys.modules`` is read, so an I/O
library pulled in through a package ``__init__`` or a harmless-looking helper is caught,
not only a direct ``import``. ``PURE`` below is the one list of pure modules
(docs/ARCHITECTURE.md points here rather than keeping its own).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"
PURE = [
    # foundations (reading Vigil's own config and rule files is allowed: it is no service)
    "core/clock.py",
    "config/checks.py",
    "config/model.py",
    "config/http.py",
    "core/resources.py",
    "core/secret.py",
    "core/durations.py",
    "core/errors.py",
    "core/pagination.py",
    "core/retry_outcome.py",
    "core/timefmt.py",
    "core/yamlfile.py",
    "store/db_url.py",
    # intake
    "ingest/model.py",
    "ingest/validate.py",
    "ingest/json_body.py",
    "ingest/alertmanager.py",
    "ingest/generic.py",
    # incidents
    "incidents/policy/classify.py",
    "incidents/policy/conditions.py",
    "incidents/policy/defaults.py",
    "incidents/policy/parser.py",
    "incidents/policy/reasons.py",
    "incidents/policy/signals.py",
    "incidents/intake/fingerprint.py",
    "incidents/states.py",
    "incidents/severity.py",
    "incidents/response.py",
    "incidents/subjects.py",
    "incidents/quiet.py",
    "incidents/views.py",
    # chat
    "chat/commands/parse.py",
    "chat/commands/spec.py",
    "chat/commands/tokens.py",
    "chat/commands/render.py",
    "chat/commands/rollback.py",
    "chat/commands/rollout.py",
    "chat/commands/silences/parse.py",
    "chat/commands/types.py",
    "chat/slack/blocks/actions.py",
    "chat/slack/blocks/kit.py",
    "chat/slack/blocks/card.py",
    "chat/slack/blocks/thread.py",
    "chat/slack/blocks/page.py",
    "chat/slack/blocks/replies.py",
    "chat/slack/modals.py",
    "chat/slack/gate/inbound.py",
    "chat/slack/gate/replay.py",
    # rules and sources' pure parts
    "rules/schema.py",
    "rules/baseline.py",
    "rules/sequential.py",
    "rules/evaluate.py",
    "rules/effective.py",
    "rules/alerts.py",
    "rules/loader.py",
    "rules/heightened/config.py",
    "rules/heightened/tighten.py",
    "sources/config.py",
    # on-call rooms
    "oncall/calendar.py",
    "oncall/settings.py",
    "oncall/status.py",
    "oncall/paging/escalation.py",
    "oncall/paging/routing.py",
    "oncall/paging/config.py",
    "oncall/paging/policy_config.py",
    "oncall/paging/plans.py",
    "oncall/schedules/roster.py",
    "oncall/schedules/layers.py",
    "oncall/schedules/config.py",
    "oncall/schedules/checks.py",
    "oncall/schedules/handoff.py",
    "oncall/schedules/ical.py",
    "oncall/schedules/override_plan.py",
    "oncall/snooze/progress.py",
    "oncall/snooze/rules.py",
    "oncall/snooze/metrics.py",
    "oncall/sla/clocks.py",
    "oncall/sla/config.py",
    "oncall/sla/report.py",
    "oncall/sla/report_text.py",
    # maintenance windows (when they are on) and their section
    "silences/windows.py",
    "silences/window_config.py",
    # the record of moves on an outside registry, rebuilt; what a serving target is told
    "registry/base.py",
    "registry/rules.py",
    "registry/replay.py",
    "registry/serving.py",
    # silences and inhibition
    "silences/config.py",
    "silences/inhibit.py",
    "silences/matchers.py",
    "silences/re2.py",
    "silences/mutes.py",
    "silences/spec.py",
    # notify and outbox decisions
    "notify/base.py",
    "notify/fallback.py",
    "notify/retry_plan.py",
    "notify/pagerduty/webhook.py",
    "outbox/retry.py",
    # heartbeats, evidence, model quality
    "heartbeats/spec.py",
    "heartbeats/check.py",
    "evidence/charts.py",
    "evidence/plan.py",
    "quality/assess.py",
    "quality/batch.py",
    "quality/binning.py",
    "quality/data.py",
    "quality/drift/inputs.py",
    "quality/drift/samples.py",
    "quality/drift/divergence.py",
    "quality/drift/stat_tests.py",
    "quality/drift/wasserstein.py",
    "quality/drift/methods.py",
    "quality/drift/changepoint.py",
    "quality/estimate.py",
    "quality/labels/tally.py",
    "quality/labels/reference.py",
    "quality/labels/stats.py",
    "quality/labels/health.py",
    "quality/compare/ledger.py",
    "quality/performance.py",
    "quality/profile.py",
    "quality/profile_dict.py",
    "quality/row_fields.py",
    "quality/arrow_rows.py",
    "quality/arrow_body.py",
    "quality/compare/shadow.py",
    "quality/compare/shadow_codec.py",
    "quality/spec.py",
    "quality/panes.py",
    "quality/sketch.py",
    "quality/stability.py",
    "quality/windows.py",
    # the engines' pure parts: quantile cuts, the profile from an engine's answers, the report
    "profiling/quantiles.py",
    "profiling/reference.py",
    "profiling/table.py",
    "profiling/report.py",
    # rollout judging
    "rollout/counts.py",
    "rollout/evidence.py",
    "rollout/judge.py",
    "rollout/observations.py",
    "rollout/sequential.py",
    "rollout/shadow.py",
    "rollout/wording.py",
    "rollout/arms.py",
    "rollout/settings.py",
    "rollout/steps.py",
    "rollout/story.py",
    # retraining's decisions and words
    "retrain/decide.py",
    "retrain/words.py",
    "retrain/adapters/base.py",
    "monitoring/versions.py",
    "monitoring/shadow_rows.py",
    "monitoring/shadow_views.py",
    "monitoring/panes/parts.py",
    "monitoring/posts.py",
    "monitoring/watched.py",
    # the web view's session cookie, list filters and text
    "webui/session.py",
    "webui/filters.py",
    "webui/text.py",
    "webui/views/oncall_view.py",
    "webui/views/charts.py",
]
IO_LIBRARIES = (
    "aiohttp",
    "aiosmtplib",
    "aiosqlite",
    "alembic",
    "apscheduler",
    "asyncpg",
    "psutil",
    "psycopg",
    "pynvml",
    "slack_bolt",
    "slack_sdk",
    "sqlalchemy",
    "sqlmodel",
)
"""Libraries that talk to a database, the network, a chat service or the machine."""
FRONT_DOORS = ("bot.runtime", "bot.cli", "bot.web", "bot.webui")
"""The composition root and the front doors: they import the rest, never the other way."""
DEFERRED_OWN_IMPORTS = {
    # The composition root loads the Slack backend (slack_bolt, slack_sdk) only when Slack
    # is configured: the one optional backend, chosen at start.
    ("bot.runtime.app", "bot.chat.slack.wiring"),
}
"""Imports of our own modules inside a function that are there on purpose (never to dodge a
loop). The CLI's dispatch imports a verb's module by name (``importlib``), not here."""


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    return {_name(p): p for p in BOT.rglob("*.py")}


def _targets(module: str, names: list[str]) -> set[str]:
    """Our modules an ``import``/``from … import`` names (a submodule when it is one)."""
    known = _modules()
    found = {f"{module}.{n}" for n in names if f"{module}.{n}" in known}
    if module in known:
        found.add(module)
    return found


@cache
def _imports() -> tuple[dict[str, set[str]], list[tuple[str, str]]]:
    """Each module's module-level imports of ours (outside ``TYPE_CHECKING``), and every
    import of ours made inside a function."""
    graph: dict[str, set[str]] = {}
    inner: list[tuple[str, str]] = []
    for name, path in _modules().items():
        deps: set[str] = set()

        def visit(
            node: ast.AST,
            in_function: bool,
            typing_only: bool,
            name: str = name,
            deps: set[str] = deps,
        ) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    visit(child, in_function, True, name, deps)
                elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                    visit(child, True, typing_only, name, deps)
                elif isinstance(child, ast.ImportFrom | ast.Import):
                    pairs = (
                        [(child.module or "", [a.name for a in child.names])]
                        if isinstance(child, ast.ImportFrom)
                        else [(a.name, []) for a in child.names]
                    )
                    for module, names in pairs:
                        if not module.startswith("bot"):
                            continue
                        if in_function:
                            inner.append((name, module))
                        elif not typing_only:
                            deps.update(_targets(module, names))
                else:
                    visit(child, in_function, typing_only, name, deps)

        visit(ast.parse(path.read_text()), False, False)
        deps.discard(name)
        graph[name] = deps
    return graph, inner


def _loaded(module: str) -> list[str]:
    """``sys.modules`` after importing ``module`` alone in a fresh interpreter."""
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(  # noqa: S603 (this interpreter, our own module)
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout)
    return loaded


@cache
def _loaded_by_pure() -> dict[str, list[str]]:
    names = [_name(BOT / p) for p in PURE]
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(names, pool.map(_loaded, names), strict=True))


def test_every_pure_module_exists() -> None:
    assert [p for p in PURE if not (BOT / p).is_file()] == []


@pytest.mark.parametrize("path", PURE)
def test_a_pure_module_loads_no_io_library_and_no_impure_module_of_ours(path: str) -> None:
    module = _name(BOT / path)
    loaded = _loaded_by_pure()[module]
    io = sorted({m.split(".")[0] for m in loaded} & set(IO_LIBRARIES))
    assert io == [], f"{module} loads {io}"
    pure = {_name(BOT / p) for p in PURE}
    packages = {n for n, p in _modules().items() if p.name == "__init__.py"}
    ours = [m for m in loaded if m == "bot" or m.startswith("bot.")]
    impure = sorted(m for m in ours if m not in pure and m not in packages)
    assert impure == [], f"{module} loads modules that are not pure: {impure}"


def test_nothing_imports_in_a_loop() -> None:
    graph, _ = _imports()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    loops: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    assert loops == []


def test_no_import_of_our_own_hides_inside_a_function() -> None:
    _, inner = _imports()
    assert sorted(set(inner) - DEFERRED_OWN_IMPORTS) == []


def test_nothing_below_the_front_doors_imports_them() -> None:
    graph, _ = _imports()

    def door(m: str) -> bool:
        return any(m == d or m.startswith(d + ".") for d in FRONT_DOORS)

    upward = sorted((m, d) for m, deps in graph.items() if not door(m) for d in deps if door(d))
    assert upward == []


def test_core_never_imports_slack_bolt() -> None:
    offenders = []
    for name, path in _modules().items():
        if name.startswith("bot.chat.slack"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(n.startswith("slack_bolt") for n in names):
                offenders.append(name)
    assert offenders == []
