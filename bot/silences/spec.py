"""What a silence is, whoever asks for it: the checks, the states and the wording. Pure.

Every front door (Slack and the console's ``/silence`` and ``/incident silence``, the
Alertmanager v2 API that ``amtool`` speaks, ``vigil silence``) builds a :class:`SilenceSpec`
and passes it through :func:`checked`, so one set of rules refuses the same mistakes
everywhere, naming the field:

* matchers that would hush every alert, or only alerts lacking a label
  (:func:`bot.silences.matchers.refusal`: Alertmanager #3905, #3279);
* an end before the start, or in the past;
* a silence over :data:`COMMENT_OVER` without a comment saying why (the silence nobody
  remembers: Alertmanager #5459), and any over :data:`LONGEST`.

The JSON is Alertmanager's ``PostableSilence``/``GettableSilence`` (so ``amtool`` works against
Vigil unchanged), plus one object of Vigil's own, ``vigil``, that Alertmanager's clients ignore.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.durations import parse_duration, short_duration, words_rounded
from bot.core.errors import ValidationError
from bot.core.timefmt import iso_z
from bot.ingest.validate import parse_rfc3339, require_object
from bot.silences.matchers import Matcher, MatcherError, refusal

DEFAULT_LENGTH = timedelta(hours=1)
COMMENT_OVER = timedelta(hours=24)  # longer than this needs a comment saying why
LONGEST = timedelta(days=90)
MAX_MATCHERS = 32
MAX_TEXT = 2_000


@dataclass(frozen=True)
class SilenceSpec:
    """A silence as asked for, before it is stored."""

    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str = ""
    incident_id: int | None = None
    expire_on_resolve: bool = False
    expire_unused: timedelta | None = None


@dataclass(frozen=True)
class SilenceView:
    """A stored silence as everyone reads it."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    incident_id: int | None
    expire_on_resolve: bool
    expire_unused: timedelta | None
    updated_at: datetime
    expired_by: str | None = None
    last_matched_at: datetime | None = None

    def state(self, now: datetime) -> str:
        """Alertmanager's three states: ``pending``, ``active``, ``expired``."""
        if self.ends_at <= now:
            return "expired"
        return "pending" if self.starts_at > now else "active"

    @property
    def short_id(self) -> str:
        """The first 8 characters: what chat shows and accepts (a unique prefix)."""
        return self.id[:8]


def checked(spec: SilenceSpec, now: datetime) -> SilenceSpec:
    """The spec if it may be stored, else :class:`ValidationError` naming the field."""
    if not spec.matchers:
        raise ValidationError("matchers", "a silence needs at least one matcher")
    if len(spec.matchers) > MAX_MATCHERS:
        raise ValidationError("matchers", f"at most {MAX_MATCHERS} matchers")
    why = refusal(spec.matchers)
    if why is not None:
        raise ValidationError("matchers", why)
    if not spec.created_by.strip():
        raise ValidationError("createdBy", "say who is creating the silence")
    if len(spec.comment) > MAX_TEXT:
        raise ValidationError("comment", f"at most {MAX_TEXT} characters")
    if spec.ends_at <= spec.starts_at:
        raise ValidationError("endsAt", "the silence would end before it starts")
    if spec.ends_at <= now:
        raise ValidationError("endsAt", "the end is in the past: nothing would be silenced")
    length = spec.ends_at - max(spec.starts_at, now)
    if length > LONGEST:
        raise ValidationError(
            "endsAt", f"at most {words_rounded(LONGEST)}; use a maintenance window for longer"
        )
    if length > COMMENT_OVER and not spec.comment.strip():
        raise ValidationError(
            "comment",
            "a silence longer than 24 h needs a comment saying why "
            "(whoever finds it next week must know whether it can go)",
        )
    if spec.expire_unused is not None and spec.expire_unused <= timedelta(0):
        raise ValidationError("vigil.expireUnusedAfter", "must be longer than 0")
    return spec


def parse_postable(body: object, *, now: datetime) -> tuple[str | None, SilenceSpec]:
    """Alertmanager's ``PostableSilence`` (``id`` to update one), plus ``vigil``'s options:
    ``incident`` (a number), ``expireOnResolve`` (bool), ``expireUnusedAfter`` ("2h")."""
    obj = require_object(body, "body")
    raw = obj.get("matchers")
    if not isinstance(raw, list) or not raw:
        raise ValidationError("matchers", "a list of at least one matcher")
    matchers: list[Matcher] = []
    for i, each in enumerate(raw):
        where = f"matchers[{i}]"
        if not isinstance(each, Mapping):
            raise ValidationError(where, "each matcher is an object (name, value, isRegex)")
        try:
            matchers.append(Matcher.from_json(each, where=where))
        except MatcherError as exc:
            raise ValidationError(where, str(exc)) from exc
    starts = parse_rfc3339(obj["startsAt"], "startsAt") if "startsAt" in obj else now
    ends = parse_rfc3339(obj["endsAt"], "endsAt") if "endsAt" in obj else starts + DEFAULT_LENGTH
    sid = _text(obj.get("id"), "id", empty=True) or None
    spec = SilenceSpec(
        matchers=tuple(matchers),
        starts_at=max(starts, now),  # a start in the past is now, as in Alertmanager
        ends_at=ends,
        created_by=_text(obj.get("createdBy"), "createdBy", empty=False),
        comment=_text(obj.get("comment", ""), "comment", empty=True),
    )
    extra = obj.get("vigil")
    if extra is not None:
        spec = _vigil_options(spec, require_object(extra, "vigil"))
    return sid, checked(spec, now)


def _vigil_options(spec: SilenceSpec, extra: Mapping[str, object]) -> SilenceSpec:
    known = {"incident", "expireOnResolve", "expireUnusedAfter"}
    for key in extra:
        if key not in known:
            raise ValidationError(
                f"vigil.{key}", f"unknown option; known: {', '.join(sorted(known))}"
            )
    incident = extra.get("incident")
    if incident is not None and (isinstance(incident, bool) or not isinstance(incident, int)):
        raise ValidationError("vigil.incident", "an incident number")
    on_resolve = extra.get("expireOnResolve", incident is not None)
    if not isinstance(on_resolve, bool):
        raise ValidationError("vigil.expireOnResolve", "true or false")
    unused = extra.get("expireUnusedAfter")
    after: timedelta | None = None
    if unused is not None:
        try:
            after = parse_duration(unused)
        except ValueError as exc:
            raise ValidationError("vigil.expireUnusedAfter", str(exc)) from exc
    return replace(
        spec,
        incident_id=incident if isinstance(incident, int) else None,
        expire_on_resolve=on_resolve,
        expire_unused=after,
    )


def _text(value: object, field: str, *, empty: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(field, "a string")
    if not empty and not value.strip():
        raise ValidationError(field, "must not be empty")
    if len(value) > MAX_TEXT:
        raise ValidationError(field, f"at most {MAX_TEXT} characters")
    return value


def gettable(view: SilenceView, now: datetime) -> dict[str, Any]:
    """Alertmanager's ``GettableSilence`` JSON, plus ``vigil``'s options."""
    return {
        "id": view.id,
        "status": {"state": view.state(now)},
        "updatedAt": iso_z(view.updated_at),
        "matchers": [m.to_json() for m in view.matchers],
        "startsAt": iso_z(view.starts_at),
        "endsAt": iso_z(view.ends_at),
        "createdBy": view.created_by,
        "comment": view.comment,
        "vigil": {
            "incident": view.incident_id,
            "expireOnResolve": view.expire_on_resolve,
            "expireUnusedAfter": short_duration(view.expire_unused) if view.expire_unused else None,
            "expiredBy": view.expired_by,
            "lastMatchedAt": iso_z(view.last_matched_at),
        },
    }


def matchers_text(matchers: Sequence[Matcher]) -> str:
    """``service="payments", alertname=~"Latency.*"``: Alertmanager's own text form."""
    return ", ".join(str(m) for m in matchers)


def _at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%a %d %b %H:%M UTC")


def silence_words(view: SilenceView, now: datetime) -> str:
    """One line: which alerts, until when, who and why."""
    state = view.state(now)
    if state == "expired":
        when = f"ended {_at(view.ends_at)}"
    elif state == "pending":
        when = f"from {_at(view.starts_at)} until {_at(view.ends_at)}"
    else:
        when = f"until {_at(view.ends_at)} ({words_rounded(view.ends_at - now)} left)"
    why = f": {view.comment}" if view.comment.strip() else ""
    incident = f", for #{view.incident_id}" if view.incident_id is not None else ""
    return (
        f"Silence {view.short_id} ({matchers_text(view.matchers)}) {when}, "
        f"by {view.created_by}{incident}{why}"
    )
