"""``vigil check``: validate config, rules, playbooks and templates before a deploy.

Each check raises ``ConfigError`` naming the file (and line or field) of the first problem,
so a CI job or a person at a terminal sees exactly what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from bot.config import Settings, load_settings, rule_files
from bot.errors import ConfigError
from bot.notify.build import build_channels
from bot.oncall.status import paging_lines
from bot.playbooks.loader import load_playbook_dirs
from bot.playbooks.service import load_configured_playbooks
from bot.postmortem.draft import PostmortemRenderer
from bot.rules.effective import RuleStatus, effective
from bot.rules.listing import counts
from bot.rules.loader import load_rules


@dataclass(frozen=True)
class CheckReport:
    config: str
    rules: int
    playbooks: int
    templates: int
    alert_rules_on: int = 0
    alert_rules_off: int = 0  # off until a per-subject setting is configured
    alert_rules_disabled: int = 0
    paging: tuple[str, ...] = ()  # what each severity does, routes, policies: who gets woken

    def summary(self) -> str:
        disabled = f", {self.alert_rules_disabled} disabled" if self.alert_rules_disabled else ""
        return (
            f"OK: config {self.config}; {self.rules} classification rules; "
            f"{self.alert_rules_on} rules on, {self.alert_rules_off} off until configured"
            f"{disabled}; {self.playbooks} playbooks; {self.templates} templates"
        )


def check_rules(settings: Settings) -> list[RuleStatus]:
    """Load the alerting rules Vigil would run (bundled, then ``rules_dir/*.yaml``) with the
    strict loader, so a bad file is reported by file and key, and say which are on."""
    rules = load_rules(rule_files(settings))
    return effective(
        rules, settings.incidents.models, settings.incidents.services, settings.heartbeats
    )


def check_playbooks(directory: Path, settings: Settings | None = None) -> int:
    """Load playbooks with the loader Vigil starts with, so every mistake names its file,
    step and field: the ones Vigil will run (``playbooks_dir``, then the bundled ones) and
    those in ``directory`` (``--playbooks``, default ``./playbooks``) if it exists.

    The count is of your playbooks (``directory`` and ``playbooks_dir``), as the template
    count is of your templates; the bundled ones are checked without being counted.
    """
    settings = settings or Settings()
    load_configured_playbooks(settings)
    yours = [d for d in (directory, settings.playbooks_dir) if d is not None and d.is_dir()]
    unique = list(dict.fromkeys(d.resolve() for d in yours))
    return len(load_playbook_dirs(unique))


def check_notify(settings: Settings) -> int:
    """Build the ``notify:`` channels with the code start-up runs (``build_channels``), so
    what only a channel checks (the webhook secret's length, the e-mail sender) fails
    ``vigil check`` exactly as it would fail ``vigil run``. Nothing is sent or opened: a
    channel makes its HTTP session on its first send. How many channels there are."""
    return len(build_channels(settings.notify))


def check_templates(directory: Path) -> int:
    """Every ``*.j2`` must compile; a syntax error is reported with its template and line."""
    env = jinja2.Environment(autoescape=False)  # noqa: S701 (Markdown and chat text, not HTML)
    count = 0
    for path in sorted(directory.rglob("*.j2")) if directory.is_dir() else []:
        try:
            env.parse(path.read_text(encoding="utf-8"), name=path.name, filename=str(path))
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(exc.message or "syntax error", where=f"{path}:{exc.lineno}") from exc
        count += 1
    return count


def run_checks(
    config_path: str | None, env: dict[str, str], *, playbooks: Path, templates: Path
) -> CheckReport:
    settings: Settings = load_settings(config_path, env)
    PostmortemRenderer(settings.templates_dir).check()  # the bundled templates and overrides
    check_notify(settings)
    on, off, disabled = counts(check_rules(settings))
    return CheckReport(
        config=str(settings.config_path) if settings.config_path else "(embedded defaults)",
        rules=len(settings.incidents.policy.rules),
        playbooks=check_playbooks(playbooks, settings),
        templates=check_templates(templates),
        alert_rules_on=on,
        alert_rules_off=off,
        alert_rules_disabled=disabled,
        paging=paging_lines(settings.oncall.routing),
    )
