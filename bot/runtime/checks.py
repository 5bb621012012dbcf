"""``vigil check``: validate config, rules, playbooks and templates before a deploy.

Each check raises ``ConfigError`` naming the file (and line or field) of the first problem,
so a CI job or a person at a terminal sees exactly what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from bot.config.load import Settings, load_settings
from bot.core.errors import ConfigError
from bot.core.resources import bundled
from bot.notify.build import build_channels
from bot.oncall.status import paging_lines
from bot.playbooks.configured import load_configured_playbooks
from bot.playbooks.loader import load_playbook_dirs
from bot.postmortem.draft import PostmortemRenderer
from bot.rules.configured import check_rules as check_rules  # re-exported: check's own
from bot.rules.listing import counts


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class Loaded:
    """What ``vigil run`` loads of one kind (playbooks, templates), and where from: yours
    (``playbooks_dir``/``templates_dir``) first, the bundled ones filling the gaps by name.
    ``unused``: a directory ``check`` was pointed at (``--playbooks``, ``./templates``) that
    it validated but that run does not read, and how many files it holds."""

    total: int
    yours: int = 0
    where: Path | None = None
    unused: tuple[Path, int] | None = None

    def describe(self, noun: str, setting: str) -> str:
        if self.yours == 0:
            text = f"{_count(self.total, noun)} (bundled)"
        elif self.yours == self.total:
            text = f"{_count(self.total, noun)} (yours, from {self.where})"
        else:
            bundled_ = self.total - self.yours
            text = f"{_count(self.total, noun)} ({self.yours} yours from {self.where}, "
            text += f"{bundled_} bundled)"
        if self.unused is not None:
            path, n = self.unused
            text += (
                f" [{path}/ holds {_count(n, noun)} that vigil run does not load: "
                f"set {setting}: {path} in vigil.yaml to use them]"
            )
        return text


@dataclass(frozen=True)
class CheckReport:
    config: str
    rules: int
    playbooks: Loaded
    templates: Loaded
    alert_rules_on: int = 0
    alert_rules_off: int = 0  # off until a per-subject setting is configured
    alert_rules_disabled: int = 0
    paging: tuple[str, ...] = ()  # what each severity does, routes, policies: who gets woken
    registry: str = ""  # where /rollback and `vigil model` move models, if not the built-in

    def summary(self) -> str:
        disabled = f", {self.alert_rules_disabled} disabled" if self.alert_rules_disabled else ""
        return (
            f"OK: config {self.config}; {self.rules} classification rules; "
            f"{self.alert_rules_on} rules on, {self.alert_rules_off} off until configured"
            f"{disabled}; {self.playbooks.describe('playbook', 'playbooks_dir')}; "
            f"{self.templates.describe('template', 'templates_dir')}"
        )


def check_playbooks(directory: Path, settings: Settings | None = None) -> Loaded:
    """Load the playbooks ``vigil run`` loads, with its own loader (``playbooks_dir``, then
    the bundled ones), so every mistake names its file, step and field, and count them as
    run will have them. ``directory`` (``--playbooks``, default ``./playbooks``) is
    validated too when it exists; if run does not read it, the report says so."""
    settings = settings or Settings()
    books = load_configured_playbooks(settings)
    mine = settings.playbooks_dir
    yours = len(load_playbook_dirs([mine])) if mine is not None else 0
    unused = None
    if directory.is_dir() and not _same(directory, mine, bundled("playbooks")):
        unused = (directory, len(load_playbook_dirs([directory])))
    return Loaded(len(books), yours, mine, unused)


def check_templates(directory: Path, settings: Settings | None = None) -> Loaded:
    """The post-mortem templates ``vigil run`` sees (``templates_dir`` first, the bundled
    ones filling the gaps by name), every one compiled; a syntax error names its template
    and line. ``directory`` (``--templates``, default ``./templates``) is compiled too when
    it exists; if run does not read it, the report says so."""
    settings = settings or Settings()
    mine = settings.templates_dir
    PostmortemRenderer(mine).check()  # what run renders with: a broken one fails here
    yours = _compile(mine) if mine is not None else set()
    names = yours | _compile(bundled("templates"))
    unused = None
    if directory.is_dir() and not _same(directory, mine, bundled("templates")):
        unused = (directory, len(_compile(directory)))
    return Loaded(len(names), len(yours), mine, unused)


def _same(directory: Path, *others: Path | None) -> bool:
    return any(o is not None and o.resolve() == directory.resolve() for o in others)


def _compile(directory: Path) -> set[str]:
    """Compile every ``*.j2`` under ``directory``; their names, relative to it."""
    env = jinja2.Environment(autoescape=False)  # noqa: S701 (Markdown and chat text, not HTML)
    names = set()
    for path in sorted(directory.rglob("*.j2")) if directory.is_dir() else []:
        try:
            env.parse(path.read_text(encoding="utf-8"), name=path.name, filename=str(path))
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(exc.message or "syntax error", where=f"{path}:{exc.lineno}") from exc
        names.add(path.relative_to(directory).as_posix())
    return names


def check_notify(settings: Settings) -> int:
    """Build the ``notify:`` channels with the code start-up runs (``build_channels``), so
    what only a channel checks (the webhook secret's length, the e-mail sender) fails
    ``vigil check`` exactly as it would fail ``vigil run``. Nothing is sent or opened: a
    channel makes its HTTP session on its first send. How many channels there are."""
    return len(build_channels(settings.notify))


def run_checks(
    config_path: str | None, env: dict[str, str], *, playbooks: Path, templates: Path
) -> CheckReport:
    settings: Settings = load_settings(config_path, env)
    check_notify(settings)
    on, off, disabled = counts(check_rules(settings))
    return CheckReport(
        config=str(settings.config_path) if settings.config_path else "(embedded defaults)",
        rules=len(settings.incidents.policy.rules),
        playbooks=check_playbooks(playbooks, settings),
        templates=check_templates(templates, settings),
        alert_rules_on=on,
        alert_rules_off=off,
        alert_rules_disabled=disabled,
        paging=paging_lines(settings.oncall.routing),
        registry=settings.registry.describe() if settings.registry.kind != "builtin" else "",
    )
