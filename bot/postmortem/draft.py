"""Draft a post-mortem in Markdown from an incident view and a Jinja template.

Vigil writes down what it knows (severity and why, alerts, the timeline, response times) and
leaves clearly marked TODOs for what only people know (impact, root cause, action items).
Teams can put their own ``postmortem.md.j2`` in a template directory searched before the
built-in one, or ``{% extends "builtin/postmortem.md.j2" %}`` and replace single blocks.

Every template problem (syntax error, misspelt variable, missing include) becomes a
``ConfigError`` whose ``where`` is ``<template file>:<line>``: the person fixing it at 2 a.m.
needs the file and line, not a Jinja traceback. Pure apart from reading template files;
the caller passes ``now``.

Template context: ``incident`` (IncidentView), ``timings`` (Timings), ``now``, ``subject``
("model fraud-scorer"), ``summary`` (one sentence), ``alerts`` (AlertFact, earliest first),
``first_alert``, ``severity_events``, ``containment_events``, ``human_override``,
``needs_postmortem``, ``evidence`` (Evidence: the charts attached to the incident, in
timeline order), ``watches`` (Watch: the close watch after the fix, from the timeline's
``watch`` entries), ``relapses`` (the ``relapse`` entries: incidents opened when a watched
rule fired again), ``extra`` (the caller's mapping). Filters: ``duration``, ``when``, ``cell``
(a Markdown table cell), ``num``.

Charts are linked by absolute path: the same draft is written to ``postmortems_dir``,
printed by ``vigil postmortem N`` (to be redirected anywhere) or written with ``--out``, and
only an absolute path points at the chart from all three.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import jinja2

from bot.core.durations import words_table
from bot.core.errors import ConfigError
from bot.core.resources import bundled
from bot.evidence.plan import EVIDENCE
from bot.incidents.quiet import RELAPSE_KIND, WATCH_KIND
from bot.incidents.views import AlertView, EventView, IncidentView
from bot.postmortem.report import Timings, needs_postmortem, timings

TEMPLATE = "postmortem.md.j2"
#: Prefix under which the built-in templates stay reachable when an override shadows them.
BUILTIN_PREFIX = "builtin"
_CONTAINMENT_KINDS = frozenset({"playbook"})
_SEVERITY_KINDS = frozenset({"severity", "policy"})
_NEEDS_BRACKETS = re.compile(r"[\s()]")


@dataclass(frozen=True)
class AlertFact:
    """One alert as the draft states it: name, value and the limit it crossed, as text."""

    name: str
    title: str
    status: str
    value: str | None
    limit: str | None
    source: str
    count: int
    starts_at: datetime
    ends_at: datetime | None

    @property
    def reading(self) -> str:
        """``value 0.71 (SLA 0.90)``: what was measured against what it should have been."""
        text = "no value" if self.value is None else f"value {self.value}"
        return f"{text} ({self.limit})" if self.limit else text


@dataclass(frozen=True)
class Evidence:
    """One chart on the incident (a timeline ``evidence`` entry), ready for Markdown."""

    at: datetime
    chart: str
    title: str
    path: str

    @property
    def image(self) -> str:
        """``![income: reference vs last 1,000 rows (PSI 0.61)](/srv/…/incident-12-….png)``."""
        alt = self.title.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
        target = f"<{self.path}>" if _NEEDS_BRACKETS.search(self.path) else self.path
        return f"![{alt}]({target})"


@dataclass(frozen=True)
class Watch:
    """The close watch after the fix (a timeline ``watch`` entry): until when, and one line
    per rule saying what changed ("fires after 2m30s (normally 5m) below 91% …")."""

    at: datetime
    until: datetime | None
    lines: tuple[str, ...]


def _watches(view: IncidentView) -> tuple[Watch, ...]:
    found = []
    for e in view.timeline:
        if e.kind != WATCH_KIND:
            continue
        try:
            until: datetime | None = datetime.fromisoformat(str(e.data.get("until")))
        except ValueError:
            until = None
        lines = e.data.get("lines")
        shown = tuple(str(x) for x in lines) if isinstance(lines, list) else (e.text,)
        found.append(Watch(e.at, until, shown))
    return tuple(found)


def _evidence(view: IncidentView) -> tuple[Evidence, ...]:
    return tuple(
        Evidence(
            at=e.at,
            chart=str(e.data.get("chart") or "chart"),
            title=" ".join(str(e.data.get("title") or e.data.get("chart") or "chart").split()),
            path=str(Path(str(e.data["path"])).absolute()),
        )
        for e in view.timeline
        if e.kind == EVIDENCE and e.data.get("path")
    )


def when(at: datetime | None) -> str:
    """UTC to the minute, ``2026-11-24 02:03Z``; ``—`` when it did not happen."""
    if at is None:
        return "—"
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%d %H:%MZ")


def num(value: float | None) -> str:
    """A measured value without float noise: ``0.31``, ``812``; ``—`` when absent."""
    return "—" if value is None else f"{value:g}"


def cell(text: object) -> str:
    """Text safe inside one Markdown table cell: pipes escaped, line breaks flattened."""
    flat = " ".join(str(text).split())
    return flat.replace("\\", "\\\\").replace("|", "\\|")


def _fact(a: AlertView) -> AlertFact:
    limit = None
    for key, label in (("sla", "SLA"), ("threshold", "threshold")):
        raw = a.labels.get(key) or a.annotations.get(key)
        if raw:
            limit = f"{label} {raw.strip()}"
            break
    return AlertFact(
        name=a.labels.get("alertname") or a.title,
        title=a.title,
        status=a.status,
        value=None if a.value is None else num(a.value),
        limit=limit,
        source=a.source,
        count=a.count,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
    )


def subject(view: IncidentView) -> str:
    """``model fraud-scorer`` / ``service payments`` / both; empty when neither is known."""
    parts = [f"{k} {v}" for k, v in (("service", view.service), ("model", view.model)) if v]
    return ", ".join(parts)


def summary_sentence(view: IncidentView, t: Timings, now: datetime) -> str:
    """One sentence a reader can stop after: how bad, where, what fired, how fast we were."""
    lead = f"A {view.severity} incident" + (f" on {subject(view)}" if subject(view) else "")
    names = list(dict.fromkeys(_fact(a).name for a in sorted(view.alerts, key=_start)))
    if names:
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        cause = f", raised by {len(names)} alert{'s' if len(names) != 1 else ''} ({shown}),"
    else:
        cause = f", opened by {view.created_by},"
    steps = [
        f"{verb} after {words_table(d)}"
        for verb, d in (
            ("acknowledged", t.time_to_acknowledge),
            ("contained", t.time_to_contain),
            ("resolved", t.time_to_resolve),
        )
        if d is not None
    ]
    if view.resolved_at is None:
        steps.append(f"still {view.state} {words_table(now - view.created_at)} after opening")
    done = ", ".join(steps[:-1]) + (" and " if len(steps) > 1 else "") + steps[-1]
    return f"{lead}{cause} was {done}."


def _start(a: AlertView) -> datetime:
    return a.starts_at


def _containment(view: IncidentView) -> tuple[EventView, ...]:
    return tuple(
        e
        for e in view.timeline
        if (e.kind == "state" and e.data.get("to") == "contained") or e.kind in _CONTAINMENT_KINDS
    )


def context(view: IncidentView, *, now: datetime) -> dict[str, object]:
    """Everything the template may use; custom templates get the same names."""
    t = timings(view)
    facts = tuple(_fact(a) for a in sorted(view.alerts, key=_start))
    return {
        "incident": view,
        "timings": t,
        "now": now,
        "subject": subject(view),
        "summary": summary_sentence(view, t, now),
        "alerts": facts,
        "first_alert": facts[0] if facts else None,
        "severity_events": tuple(e for e in view.timeline if e.kind in _SEVERITY_KINDS),
        "containment_events": _containment(view),
        "human_override": view.severity_source == "human",
        "needs_postmortem": needs_postmortem(view),
        "evidence": _evidence(view),
        "watches": _watches(view),
        "relapses": tuple(e for e in view.timeline if e.kind == RELAPSE_KIND),
    }


def _template_line(tb: TracebackType | None) -> str | None:
    """The innermost ``file.j2:line`` in a traceback Jinja has rewritten to template frames."""
    found = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def _syntax_error(exc: jinja2.TemplateSyntaxError) -> ConfigError:
    where = f"{exc.filename or exc.name or TEMPLATE}:{exc.lineno}"
    return ConfigError(f"template syntax error: {exc.message or exc}", where=where)


class PostmortemRenderer:
    """Renders post-mortem drafts; an override directory is searched before the built-in one."""

    def __init__(self, template_dir: Path | None = None) -> None:
        if template_dir is not None and not template_dir.is_dir():
            raise ConfigError("template directory does not exist", where=str(template_dir))
        builtin = jinja2.FileSystemLoader(bundled("templates"))
        loaders: list[jinja2.BaseLoader] = [builtin]
        if template_dir is not None:
            loaders.insert(0, jinja2.FileSystemLoader(template_dir))
        loaders.append(jinja2.PrefixLoader({BUILTIN_PREFIX: builtin}))
        self._dirs = [str(d) for d in (template_dir, bundled("templates")) if d is not None]
        self._env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # noqa: S701 (Markdown read by people, not HTML: nothing to escape)
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters.update(duration=words_table, when=when, cell=cell, num=num)

    def render(
        self, view: IncidentView, *, now: datetime, extra: Mapping[str, object] | None = None
    ) -> str:
        """The Markdown draft for ``view``; raises ``ConfigError`` for any template problem."""
        values = context(view, now=now)
        values["extra"] = dict(extra or {})
        template = self._load(TEMPLATE)
        try:
            return template.render(values)
        except jinja2.TemplateSyntaxError as exc:  # in an included template
            raise _syntax_error(exc) from exc
        except jinja2.TemplateNotFound as exc:
            where = _template_line(exc.__traceback__) or template.filename or TEMPLATE
            raise ConfigError(
                f"template {exc.name!r} not found (looked in {', '.join(self._dirs)})",
                where=where,
            ) from exc
        except jinja2.UndefinedError as exc:
            where = _template_line(exc.__traceback__) or template.filename or TEMPLATE
            message = exc.message or str(exc)
            if message.endswith("is undefined"):
                message += f" (check the spelling; available: {', '.join(sorted(values))})"
            raise ConfigError(message, where=where) from exc
        except Exception as exc:  # a custom template is code: any failure is a config problem
            where = _template_line(exc.__traceback__) or template.filename or TEMPLATE
            raise ConfigError(f"{type(exc).__name__}: {exc}", where=where) from exc

    def check(self) -> None:
        """Compile every ``*.j2`` this renderer can see and make sure the draft template exists.

        Catches syntax errors before an incident needs a draft; misspelt variables only show
        when rendering, because Jinja cannot know the context in advance.
        """
        self._load(TEMPLATE)
        for name in self._env.list_templates(extensions=["j2"]):
            self._load(name)

    def _load(self, name: str) -> jinja2.Template:
        try:
            return self._env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise _syntax_error(exc) from exc
        except jinja2.TemplateNotFound as exc:
            raise ConfigError(
                f"template {name!r} not found (looked in {', '.join(self._dirs)})",
                where=self._dirs[0],
            ) from exc
