"""When every alert of an incident has cleared: how long to wait before it resolves itself,
and the words the timeline and the channel say. Pure: no I/O.

Alertmanager says "resolved" when a problem goes away; an on-call engineer expects what
PagerDuty and Grafana OnCall do then: nobody is paged any more, and the incident closes by
itself unless the problem comes back. The quiet period is the "unless": an alert that fires
again within it rejoins the same incident (a flap is one incident, not two), and the
escalation resumes; once it has passed with nothing firing, the incident resolves, saying
why. Per severity (``auto_resolve:`` in ``vigil.yaml``, validated by a pydantic model,
:mod:`bot.config.model`), ``off`` to resolve by hand only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo
from types import MappingProxyType
from typing import Annotated

from pydantic import PlainValidator, model_validator

from bot.config.model import ConfigModel, problem, validate_section
from bot.core.durations import format_duration, parse_duration
from bot.incidents.severity import SEVERITIES

DEFAULT_QUIET = timedelta(minutes=5)  # Alertmanager's own resolve_timeout
DEFAULTS: Mapping[str, timedelta | None] = MappingProxyType(
    {severity: DEFAULT_QUIET for severity in SEVERITIES}
)


def _quiet(value: object) -> timedelta | None:
    if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
        return None  # YAML reads a bare off as False
    try:
        quiet = parse_duration(value)
    except ValueError as exc:
        raise problem(f"{exc}, or off") from None
    if quiet <= timedelta(0):
        raise problem("must be longer than 0s, or off")
    return quiet


Quiet = Annotated[timedelta | None, PlainValidator(_quiet)]


class AutoResolveSection(ConfigModel):
    """``auto_resolve:`` as written: one period for all (``10m``, ``off``) or one per severity
    (``{P1: off, P3: 30m}``); a severity left out keeps the default."""

    P1: Quiet = DEFAULT_QUIET
    P2: Quiet = DEFAULT_QUIET
    P3: Quiet = DEFAULT_QUIET
    P4: Quiet = DEFAULT_QUIET

    @model_validator(mode="before")
    @classmethod
    def _by_severity(cls, value: object) -> object:
        """A single period is every severity's; a key that is no severity is named as such
        (at ``auto_resolve`` itself), not as an unknown key."""
        if not isinstance(value, Mapping):
            _quiet(value)  # its mistake is named at auto_resolve, not auto_resolve.P1
            return {severity: value for severity in SEVERITIES}
        for severity in value:
            if severity not in SEVERITIES:
                raise problem(f"{severity!r} is not a severity; use {', '.join(SEVERITIES)}")
        return value

    def periods(self) -> Mapping[str, timedelta | None]:
        return MappingProxyType({severity: getattr(self, severity) for severity in SEVERITIES})


def parse_auto_resolve(value: object, where: str) -> Mapping[str, timedelta | None]:
    """``auto_resolve:`` as written: one quiet period for every severity (``10m``), ``off``,
    or a mapping by severity (``{P1: off, P3: 30m}``; the others keep the default)."""
    if value is None:
        return DEFAULTS
    return validate_section(AutoResolveSection, value, where=where, key="auto_resolve").periods()


def cleared_words(quiet: timedelta | None, cleared_at: datetime, tz: tzinfo) -> str:
    """What happens next, said after "Every alert of #N has cleared;" ("" when it is left
    to a person: the line then says to resolve it when satisfied)."""
    if quiet is None:
        return ""
    at = (cleared_at + quiet).astimezone(tz)
    return (
        f"it resolves by itself at {at:%H:%M %Z} ({format_duration(quiet)} quiet) unless "
        "an alert fires again"
    )


def refiring_words(cleared_at: datetime, now: datetime) -> str:
    """Said when an alert fires again while the incident waits to resolve itself."""
    return (
        f"Firing again {format_duration(now - cleared_at)} after every alert had cleared: "
        "same incident; the escalation resumes and it will not resolve by itself."
    )


def resolved_words(cleared_at: datetime, quiet: timedelta, tz: tzinfo) -> str:
    """The reason of the resolve the quiet period ends in."""
    return (
        f"every alert cleared at {cleared_at.astimezone(tz):%H:%M %Z} and none fired again "
        f"for {format_duration(quiet)}"
    )


def follows_words(previous: int, resolved_at: datetime | None, now: datetime) -> str:
    """Said when an alert opens a new incident for a key whose last incident is resolved."""
    if resolved_at is None:
        return f"The same alerts were incident #{previous}."
    return (
        f"The same alerts were incident #{previous}, resolved "
        f"{format_duration(now - resolved_at)} ago: it came back."
    )


#: Annotations of an alert that Vigil's rules fired while watching its subject closely after
#: incident ``relapse_of`` resolved at ``watched_since`` (``bot.rules.heightened``).
RELAPSE_OF = "relapse_of"
WATCHED_SINCE = "watched_since"
WATCH_KIND = "watch"  # the timeline entry "Watching closely for 24 h: …" at resolve
RELAPSE_KIND = "relapse"  # the entry "Relapsed: #13 opened …" on the incident that relapsed


def relapse_of(annotations: Mapping[str, str]) -> tuple[int, datetime | None] | None:
    """The incident an alert relapses, and when it resolved; None for any other alert."""
    raw = annotations.get(RELAPSE_OF, "")
    if not raw.isdigit():
        return None
    try:
        since: datetime | None = datetime.fromisoformat(annotations.get(WATCHED_SINCE, ""))
    except ValueError:
        since = None
    return int(raw), since


def relapse_words(previous: int, resolved_at: datetime | None, now: datetime) -> str:
    """``Relapse of #12 (resolved 3 h ago; watched closely since)``: the head of a relapse
    incident's title and of its first timeline line."""
    if resolved_at is None:
        return f"Relapse of #{previous} (watched closely since it resolved)"
    ago = format_duration(max(now - resolved_at, timedelta(0)))
    return f"Relapse of #{previous} (resolved {ago} ago; watched closely since)"
