"""What every notification channel shares: the message, the contract, the verdicts. Pure.

A channel never raises for a failed delivery: it returns an :data:`Outcome`
(:mod:`bot.core.retry_outcome`, the verdicts the Slack outbox uses too), because what to do next
(retry later, try the next channel, tell the timeline) is the caller's decision and the
caller needs the reason in words a person can act on. A channel knows when the remote end
said "come back in 30 s" (``Retry-After``) but not how many attempts the caller has made, so
its ``Retry.after`` may be ``None`` and the caller backs off;
:func:`bot.notify.outbox.to_outbox_outcome` fills in the outbox's own backoff, so a channel
can run behind the outbox unchanged.

Incident keys: PagerDuty's ``dedup_key`` (and the e-mail thread id) is :func:`incident_key`,
``"<prefix>:<incident id>"``, not the alert grouping key: it is unique per incident (a
grouping key comes back for the next incident of the same alerts, and PagerDuty would fold
a new trigger into a still-open PagerDuty incident), at most a few dozen characters (PagerDuty
allows 255), and :func:`parse_incident_key` maps a PagerDuty webhook back to our incident
without a lookup table. Give each installation its own prefix when several share one
PagerDuty service (a demo database reset would otherwise reuse ``vigil:1``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from bot.core.errors import ValidationError
from bot.core.retry_outcome import Delivered, GiveUp, Outcome, Retry
from bot.incidents.severity import SEVERITIES, Severity

Kind = Literal["page", "acknowledge", "resolve", "reminder"]
KINDS: tuple[Kind, ...] = ("page", "acknowledge", "resolve", "reminder")

DEFAULT_KEY_PREFIX = "vigil"
_PREFIX = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def incident_key(incident_id: int, prefix: str = DEFAULT_KEY_PREFIX) -> str:
    """``vigil:12``: the key PagerDuty dedups on and webhooks bring back (see module doc)."""
    if not _PREFIX.match(prefix):
        raise ValidationError("prefix", "use 1-64 letters, digits, '.', '_' or '-'")
    return f"{prefix}:{incident_id}"


def parse_incident_key(key: str | None, prefix: str = DEFAULT_KEY_PREFIX) -> int | None:
    """Our incident id from a key made by :func:`incident_key`; None for anyone else's key.

    None rather than an error: a PagerDuty service can carry incidents from other tools,
    and their acknowledgements are simply not ours to mirror.
    """
    if key is None:
        return None
    head, sep, tail = key.rpartition(":")
    if not sep or head != prefix or not (tail.isascii() and tail.isdigit()) or len(tail) > 18:
        return None
    return int(tail)


@dataclass(frozen=True)
class Notification:
    """One message to one person (or service) about one incident, whatever the channel.

    ``text`` is written for a tired reader: its first line says what happened, how bad it
    is and what to do (``page_text`` in :mod:`bot.oncall.paging.pager` writes it that way);
    channels with a short field (PagerDuty's summary, an e-mail subject) use ``title`` and
    ``severity`` instead of cutting ``text``. ``target`` is a handle (``@maya``) or an
    e-mail address; PagerDuty ignores it (its service's own escalation picks the person).
    ``at`` is when the incident event happened, ``service`` what is affected.
    """

    incident_id: int
    key: str
    severity: Severity
    title: str
    text: str
    target: str
    kind: Kind = "page"
    url: str | None = None
    service: str | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValidationError("severity", f"must be one of {', '.join(SEVERITIES)}")
        if self.kind not in KINDS:
            raise ValidationError("kind", f"must be one of {', '.join(KINDS)}")
        if not self.key.strip():
            raise ValidationError("key", "must not be empty: PagerDuty dedups on it")
        if not self.text.strip():
            raise ValidationError("text", "must not be empty")

    @property
    def headline(self) -> str:
        """The first line of ``text``: what, how bad, what to do."""
        return self.text.strip().splitlines()[0]


class Channel(Protocol):
    """One way of reaching people. ``send`` returns a verdict and never raises for a
    delivery failure (only for bugs and cancellation).

    ``name`` is the short id for logs and the ``pages`` row (``pagerduty``), ``label`` the
    name people read (``PagerDuty``), ``via`` how the timeline says it (``by e-mail``).
    """

    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def via(self) -> str: ...

    async def send(self, notification: Notification) -> Outcome: ...


def scrub(text: str, *secrets: str) -> str:
    """``text`` with every secret value replaced by ``********``.

    For text that comes from the remote end (an error message, an SMTP reply): we never put
    a secret into our own messages, but a server may echo one back.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text


def scrub_outcome(outcome: Outcome, *secrets: str) -> Outcome:
    """``outcome`` with :func:`scrub` applied to its words."""
    if isinstance(outcome, Delivered):
        return Delivered(scrub(outcome.detail, *secrets))
    if isinstance(outcome, Retry):
        return Retry(scrub(outcome.reason, *secrets), outcome.after)
    return GiveUp(scrub(outcome.reason, *secrets))


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
