"""The light front doors load only what they use (issue 16, item 7).

``vigil --help`` answers from the argument tree alone; ``vigil check`` and ``vigil rules
list`` read vigil.yaml, the rules, playbooks and templates, and load none of the libraries of
the running bot: the statistics (scipy), charts (matplotlib), dataset reader (pyarrow), Slack
SDKs, NVML, the database toolkit (vigil.yaml's database_url is read with SQLAlchemy's URL
grammar, kept in ``bot.store.db_url`` and compared with SQLAlchemy's by tests/unit/test_db_url)
or the HTTP and SMTP clients (a ``notify:`` channel and a playbook's ``http.post`` load
aiohttp or aiosmtplib on their first request). The database verbs load Alembic only when the
schema is behind. Wall time on a shared machine is not a stable thing to assert; which modules a
fresh interpreter loaded is, so that is checked.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.procs import clean_env

HEAVY = ("scipy", "matplotlib", "pyarrow", "slack_bolt", "slack_sdk", "pynvml")
DATABASE = ("sqlalchemy", "sqlmodel", "alembic", "aiosqlite", "asyncpg")

PROBE = """
import contextlib, io, sys
from bot.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        rc = main(sys.argv[1:])
    except SystemExit as exc:  # --help ends with SystemExit(0)
        rc = exc.code
print(out.getvalue(), file=sys.stderr)
print(sorted(sys.modules))
sys.exit(rc)
"""


def loaded(tmp_path: Path, *argv: str, **env: str) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after ``vigil ARGV`` ran."""
    return {name.split(".")[0] for name in modules(tmp_path, *argv, **env)}


def modules(tmp_path: Path, *argv: str, **env: str) -> set[str]:
    """Every module a fresh interpreter has loaded after ``vigil ARGV`` ran."""
    done = subprocess.run(  # noqa: S603 (our own interpreter, a fixed script)
        [sys.executable, "-c", PROBE, *argv],
        cwd=tmp_path,
        env=clean_env(**{"VIGIL_DATABASE_URL": f"sqlite:///{tmp_path / 'vigil.db'}", **env}),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    names: set[str] = set(ast.literal_eval(done.stdout.splitlines()[-1]))
    return names


def test_help_loads_no_database_server_or_statistics_library(tmp_path: Path) -> None:
    names = loaded(tmp_path, "--help")
    assert names.isdisjoint(HEAVY + DATABASE + ("aiohttp", "numpy", "jinja2")), sorted(
        names & set(HEAVY + DATABASE + ("aiohttp", "numpy", "jinja2"))
    )


@pytest.mark.parametrize("argv", [("check",), ("rules", "list")])
def test_check_and_rules_list_load_none_of_the_running_bots_libraries(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    names = loaded(tmp_path, *argv)
    assert names.isdisjoint(HEAVY), sorted(names & set(HEAVY))
    # Nor the database engine, ORM and migrations: nothing here opens the database.
    assert names.isdisjoint(("sqlmodel", "alembic", "aiosqlite", "asyncpg")), sorted(names)
    assert "bot" in names  # the probe ran the real command


CHANNELS = """\
database_url: postgres://vigil:pw@db.internal:5432/vigil
notify:
  order: [pagerduty, webhook, email]
  pagerduty: {}
  webhook: {url: "https://hooks.example/vigil"}
  email: {host: smtp.internal, sender: vigil@example.com}
"""
SCHEDULE = """\
schedules:
  ml-oncall:
    tz: Europe/Berlin
    layers:
      - {name: primary, rotation: weekly, handoff: "2026-11-23T09:00", participants: ["@maya"]}
"""
SECRETS = {"VIGIL_PAGERDUTY_ROUTING_KEY": "r" * 32, "VIGIL_WEBHOOK_SECRET": "s" * 20}


@pytest.mark.parametrize("argv", [("check",), ("rules", "list")])
def test_check_and_rules_list_load_no_database_library_and_no_http_client(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    """With a PostgreSQL URL and every notify: channel configured: checking the URL loads no
    SQLAlchemy, building the channels (what ``check`` does) no aiohttp or SMTP client."""
    (tmp_path / "vigil.yaml").write_text(CHANNELS)
    names = loaded(tmp_path, *argv, VIGIL_DATABASE_URL="", **SECRETS)
    unwanted = {*DATABASE, "aiohttp", "aiosmtplib"}
    assert names.isdisjoint(unwanted), sorted(names & unwanted)
    assert "bot" in names


def test_model_list_loads_no_dataset_reader_or_statistics(tmp_path: Path) -> None:
    names = loaded(tmp_path, "model", "list")
    assert names.isdisjoint(HEAVY), sorted(names & set(HEAVY))


MIGRATIONS = ("alembic", "mako", "pygments")


@pytest.mark.parametrize(
    "argv",
    [
        ("incidents",),
        ("report",),
        ("model", "list"),
        ("schedule", "overrides", "ml-oncall"),
    ],
)
def test_a_database_verb_on_a_database_at_the_head_loads_no_migrations(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    """Alembic (and Mako and Pygments behind it) load only when there is something to
    migrate; the icalendar reader only to read or write a calendar, numpy only for the
    reference profiles."""
    (tmp_path / "vigil.yaml").write_text(SCHEDULE)
    assert set(MIGRATIONS) <= loaded(tmp_path, "incidents")  # a new database is migrated
    names = loaded(tmp_path, *argv)
    unwanted = {*MIGRATIONS, *HEAVY, "icalendar", "numpy", "aiohttp"}
    assert names.isdisjoint(unwanted), sorted(names & unwanted)
    assert "sqlalchemy" in names  # the probe ran the real command


# What parses a section of vigil.yaml other than the top level, and the cron library behind
# ``retraining:``; ``bot.config.load`` parses them all.
SECTIONS = {
    "bot.config.load": "",
    "bot.chat.slack.settings": "",
    "bot.oncall.paging.config": "",
    "bot.retrain.config": "",
    "apscheduler": "",
    "bot.notify.settings": "",
    "bot.sources.config": "",
    "bot.heartbeats.spec": "",
    "bot.monitoring.settings": "",
    "bot.rollout.settings": "",
    "bot.silences.window_config": "",
    "bot.registry.settings": "model",
    "bot.oncall.sla.config": "report",
    "bot.oncall.schedules.config": "report schedule",  # report: through the SLA clocks
}


@pytest.mark.parametrize(
    "argv",
    [
        ("incidents",),
        ("report",),
        ("model", "list"),
        ("model", "references", "fraud"),
        ("schedule", "overrides", "ml-oncall"),
    ],
)
def test_a_database_verb_loads_the_config_of_no_section_it_does_not_read(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    """``vigil incidents`` reads the top level of vigil.yaml (the database URL, the log
    level) and imports no other section's parser; ``report`` adds the SLA's, ``model`` the
    registry's, ``schedule`` the schedules'."""
    (tmp_path / "vigil.yaml").write_text(SCHEDULE)
    names = modules(tmp_path, *argv)
    unread = {m for m, verbs in SECTIONS.items() if argv[0] not in verbs.split()}
    assert not {n for n in names if n in unread or n.split(".")[0] in unread}, sorted(
        n for n in names if n in unread or n.split(".")[0] in unread
    )
    assert "bot.config.base" in names  # the probe ran the real command
