"""When to run a notification chain again, how a waiting retry is stored, what the timeline
says about it. Pure; :mod:`bot.notify.retry` does the I/O (timers, timeline, channels).

Why this schedule (:class:`RetryPolicy`): the chain has already had its quick in-line
retries (:mod:`bot.notify.fallback`), so what is left is an outage or a rate limit on every
channel. The next tries come 30 s, 2 min, 5 min, 10 min, 20 min later: soon enough that a
blip costs the person half a minute, sparse enough that a PagerDuty that throttles us is not
hammered. A remote's own ``Retry-After`` only ever lengthens a wait (the largest one seen in
the run, so every channel that named a wait is ready again); it never shortens one, else a
remote answering ``Retry-After: 1`` would burn every attempt in seconds. At most 6 attempts
(the first send included) and 1 h from the first: past that a page is stale, the escalation
has moved on, and a person must be told plainly to pick up the phone.

A waiting retry is a durable timer (``bot.store.timers.Timers``) whose JSON payload carries the
whole :class:`~bot.notify.base.Notification` (:func:`notification_to_dict`), not an id to
look up: the page's text was written for the moment it was sent, and a restart must be able
to send exactly that.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.durations import format_duration
from bot.core.errors import ValidationError
from bot.core.retry_outcome import Retry
from bot.incidents.severity import SEVERITIES, Severity
from bot.notify.base import KINDS, Kind, Notification
from bot.notify.fallback import NOUN, Attempt

PAYLOAD_VERSION = 1
_KEY_MAX = 191  # bot.store.timers's limit on a timer key


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a chain whose channels all said Retry is run again."""

    steps: tuple[timedelta, ...] = (
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=5),
        timedelta(minutes=10),
        timedelta(minutes=20),
    )
    max_attempts: int = 6
    max_total: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if not self.steps or any(s <= timedelta(0) for s in self.steps):
            raise ValueError("retry steps must be positive, and at least one")
        if self.max_attempts < 1:
            raise ValueError("max_attempts counts the first send: at least 1")


def wait_before(retry: int, retry_after: timedelta | None, policy: RetryPolicy) -> timedelta:
    """The wait before the ``retry``-th retry (1 = the first): the policy's step, the last
    step again once they run out, lengthened to ``retry_after`` when that is longer."""
    if retry < 1:
        raise ValueError("retries count from 1")
    step = policy.steps[min(retry, len(policy.steps)) - 1]
    return step if retry_after is None else max(step, retry_after)


def next_attempt_at(
    attempt: int,
    started: datetime,
    now: datetime,
    retry_after: timedelta | None,
    policy: RetryPolicy,
) -> datetime | None:
    """After the ``attempt``-th run of the chain (1 = the first send, begun at ``started``)
    ended in Retry at ``now``: when to run it again; None when the attempts or the time are
    spent (the caller then says so plainly)."""
    if attempt >= policy.max_attempts:
        return None
    at = now + wait_before(attempt, retry_after, policy)
    return at if at - started <= policy.max_total else None


def largest_retry_after(attempts: Iterable[Attempt]) -> timedelta | None:
    """The longest ``Retry-After`` any channel named in a run; None when none named one."""
    afters = [
        a.outcome.after
        for a in attempts
        if isinstance(a.outcome, Retry) and a.outcome.after is not None
    ]
    return max(afters, default=None)


def timer_key(n: Notification) -> str:
    """``incident:12:notify:@maya:page``: one waiting retry per incident, person and kind, so
    a newer page to the same person replaces an older one's retry instead of adding to it. A
    target too long for a timer key is replaced by a digest (still one key per target)."""
    key = f"incident:{n.incident_id}:notify:{n.target}:{n.kind}"
    if len(key) <= _KEY_MAX:
        return key
    digest = hashlib.sha256(n.target.encode()).hexdigest()[:24]
    return f"incident:{n.incident_id}:notify:sha256-{digest}:{n.kind}"


# -- the payload -------------------------------------------------------------------------------


def notification_to_dict(n: Notification) -> dict[str, Any]:
    """``n`` as plain JSON (times as ISO 8601), for a timer's payload."""
    return {
        "incident_id": n.incident_id,
        "key": n.key,
        "severity": n.severity,
        "title": n.title,
        "text": n.text,
        "target": n.target,
        "kind": n.kind,
        "url": n.url,
        "service": n.service,
        "at": n.at.isoformat() if n.at is not None else None,
    }


def notification_from_dict(data: Mapping[str, Any]) -> Notification:
    """The inverse of :func:`notification_to_dict`; ValidationError naming the field when
    the payload is not one (a hand-edited row, a future version's)."""
    at_raw = _optional_str(data, "at")
    try:
        at = datetime.fromisoformat(at_raw) if at_raw is not None else None
    except ValueError:
        raise ValidationError("at", "must be an ISO 8601 time") from None
    if at is not None and at.tzinfo is None:
        raise ValidationError("at", "must carry a time zone")
    incident_id = data.get("incident_id")
    if not isinstance(incident_id, int) or isinstance(incident_id, bool):
        raise ValidationError("incident_id", "must be an integer")
    return Notification(
        incident_id=incident_id,
        key=_str(data, "key"),
        severity=_severity(_str(data, "severity")),
        title=_str(data, "title"),
        text=_str(data, "text"),
        target=_str(data, "target"),
        kind=_kind(_str(data, "kind")),
        url=_optional_str(data, "url"),
        service=_optional_str(data, "service"),
        at=at,
    )


@dataclass(frozen=True)
class RetryJob:
    """One waiting retry: the notification, which run of the chain it will be (2 = the first
    retry), when the first run began, and the channels it is limited to (None: every
    configured channel, in the configured order, as they are when it fires)."""

    notification: Notification
    attempt: int
    started: datetime
    channels: tuple[str, ...] | None = None

    def to_payload(self) -> dict[str, Any]:
        return {
            "v": PAYLOAD_VERSION,
            "notification": notification_to_dict(self.notification),
            "attempt": self.attempt,
            "started": self.started.isoformat(),
            "channels": list(self.channels) if self.channels is not None else None,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> RetryJob:
        if payload.get("v") != PAYLOAD_VERSION:
            raise ValidationError("v", f"unknown payload version {payload.get('v')!r}")
        raw = payload.get("notification")
        if not isinstance(raw, Mapping):
            raise ValidationError("notification", "must be an object")
        attempt = payload.get("attempt")
        if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
            raise ValidationError("attempt", "must be a positive integer")
        started_raw = _str(payload, "started")
        try:
            started = datetime.fromisoformat(started_raw)
        except ValueError:
            raise ValidationError("started", "must be an ISO 8601 time") from None
        if started.tzinfo is None:
            raise ValidationError("started", "must carry a time zone")
        names = payload.get("channels")
        if names is not None and (
            not isinstance(names, list) or not all(isinstance(x, str) for x in names)
        ):
            raise ValidationError("channels", "must be a list of channel names or null")
        return cls(
            notification_from_dict(raw),
            attempt,
            started,
            tuple(names) if names is not None else None,
        )


def _str(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise ValidationError(name, "must be a string")
    return value


def _optional_str(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise ValidationError(name, "must be a string or null")
    return value


def _severity(value: str) -> Severity:
    for severity in SEVERITIES:
        if severity == value:
            return severity
    raise ValidationError("severity", f"must be one of {', '.join(SEVERITIES)}")


def _kind(value: str) -> Kind:
    for kind in KINDS:
        if kind == value:
            return kind
    raise ValidationError("kind", f"must be one of {', '.join(KINDS)}")


# -- what the timeline says --------------------------------------------------------------------


def _clock_time(at: datetime) -> str:
    return at.strftime("%H:%M:%S") + "Z"  # seconds: the first retry is only 30 s away


def _subject(n: Notification) -> str:
    """``the page to @maya``, ``the acknowledgement of #12``."""
    if n.kind in ("page", "reminder"):
        return f"the {NOUN[n.kind]} to {n.target}"
    return f"the {NOUN[n.kind]} of #{n.incident_id}"


def attempt_note(line: str, attempt: int, policy: RetryPolicy) -> str:
    """A fallback line from a retried run, marked as such: ``… (attempt 2 of 6)``."""
    return f"{line} (attempt {attempt} of {policy.max_attempts})"


def retry_line(
    n: Notification, at: datetime, attempt: int, policy: RetryPolicy, first: str | None
) -> str:
    """``Will try the page to @maya again at 02:00:30Z, PagerDuty first (attempt 2 of 6)``:
    so nobody reading the timeline assumes either that the person was reached or that
    nothing more will happen."""
    head = f"Will try {_subject(n)} again at {_clock_time(at)}"
    if first is not None:
        head += f", {first} first"
    return f"{head} (attempt {attempt} of {policy.max_attempts})"


def dropped_line(n: Notification, state: str) -> str:
    """Why a waiting page or reminder was not sent after all."""
    return (
        f"Stopped retrying {_subject(n)}: #{n.incident_id} is {state} now, so nobody "
        "needs waking for it"
    )


def failed_reasons(labels_and_reasons: Sequence[tuple[str, str]]) -> str:
    """``PagerDuty: rate limited …; e-mail: …``, or that no channel is configured."""
    if not labels_and_reasons:
        return "no notification channel is configured"
    return "; ".join(f"{label}: {reason}" for label, reason in labels_and_reasons)


def final_line(
    n: Notification, attempts: int, elapsed: timedelta, reasons: str, where: Sequence[str]
) -> str:
    """The last word when a notification will not be delivered: plainly that it was not,
    and what a person must do instead (call the target; acknowledge or resolve by hand in
    ``where``, the labels of the channels that could not be told, or PagerDuty keeps
    calling people about an incident already handled)."""
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    if elapsed >= timedelta(seconds=1):
        tries += f" over {format_duration(elapsed)}"
    head = f"Could not deliver {_subject(n)} by any channel ({tries}; last: {reasons})."
    if n.kind in ("page", "reminder"):
        return (
            f"{head} {n.target} has not been reached this way: call {n.target} directly, "
            f"or page the next level with /incident escalate {n.incident_id}"
        )
    verb = "Acknowledge" if n.kind == "acknowledge" else "Resolve"
    places = " and ".join(where) if where else "every tool the page went to"
    return f"{head} {verb} #{n.incident_id} by hand in {places}, or people may keep being called"
