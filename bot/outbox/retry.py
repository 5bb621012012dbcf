"""What to do after a failed delivery: retry (when) or give up (why). Pure: no I/O, no clock.

The outbox sends each incident's messages in order, so a message that can never succeed
must not be retried: it would hold back every later message of its incident. Hence the
policy is "retry what Slack says is temporary, give up on everything else, and give up on
anything after ``MAX_AGE``":

==========================================  ============================================
failure                                     outcome
==========================================  ============================================
HTTP 429                                    Retry after ``Retry-After`` seconds (1 s if
                                            missing or unreadable, at least 1 s, at most
                                            ``MAX_RETRY_AFTER``)
no HTTP status (connection refused, reset,  Retry after ``backoff(attempts)``
DNS, timeout)
HTTP 5xx, HTTP 408                          Retry after ``backoff(attempts)``
``ok: false`` + ``RATE_LIMITED`` (when not  as 429 (``Retry-After`` if given, else 1 s)
5xx or 408, which back off)
``ok: false`` + an error in ``RETRYABLE``   Retry after ``backoff(attempts)``
``ok: false`` + an error in ``PERMANENT``   GiveUp, saying what a person must fix
``ok: false`` + any other error             GiveUp ("not known to be temporary")
any other HTTP status (400, 401, 403, 404)  GiveUp
==========================================  ============================================

``backoff(n)`` is 1, 2, 4, 8 … seconds for the n-th failed attempt, capped at ``MAX_BACKOFF``
(10 s): deterministic, without jitter, so the tests can state the schedule and a person can
read it from ``attempts`` (one worker per database, so herds are not a concern). The cap is
low on purpose: it bounds how long the queue waits after Slack comes back. With the old 5 min
cap an hour-long outage left the heads on a 4 min 16 s wait, and the queue drained 225 s
after Slack's return; now the next attempt is at most 10 s away, so the queue drains within
30 s of the return (one attempt per incident head every 10 s is nothing to Slack). A 429's
``Retry-After`` is Slack's own word and is honoured as given, cap or not (up to
``MAX_RETRY_AFTER``).
:func:`enforce_max_age` turns a retry of a message older than ``MAX_AGE`` (24 h) into a
GiveUp that says so: after a day, an incident message is history, not news.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.retry_outcome import GiveUp, Outcome, Retry
from bot.core.retry_outcome import retry_after as parse_retry_after

MAX_BACKOFF = timedelta(seconds=10)
DEFAULT_RETRY_AFTER = timedelta(seconds=1)
MAX_AGE = timedelta(hours=24)

# Slack Web API ``error`` codes that describe Slack's state, not the request's.
RETRYABLE = frozenset(
    {
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "ratelimited",
        "rate_limited",
        "team_added_to_org",
    }
)

RATE_LIMITED = frozenset({"ratelimited", "rate_limited"})

# Codes that the same request will meet again: a person (or a code fix) must act.
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "restricted_action",
        "ekm_access_denied",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_arguments",
        "invalid_arg_name",
        "invalid_charset",
        "invalid_form_data",
        "msg_too_long",
        "no_text",
        "too_many_attachments",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "user_not_found",
        "cannot_dm_bot",
    }
)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 1, 2, 4, 8, 10, 10 … s."""
    exponent = min(max(attempts, 1) - 1, 20)  # 2**20 s is far past the cap already
    return min(timedelta(seconds=2**exponent), MAX_BACKOFF)


def retry_after_delay(retry_after: str | None) -> timedelta:
    """A ``Retry-After`` header in seconds → a delay between 1 s and MAX_RETRY_AFTER.

    Slack sends whole seconds; the HTTP-date form and garbage fall back to 1 s, which is
    safe because a too-early retry only earns another 429 with a fresh ``Retry-After``.
    """
    wait = parse_retry_after(retry_after)
    return DEFAULT_RETRY_AFTER if wait is None else wait


def classify_slack_error(
    *, status: int | None, error: str | None, retry_after: str | None, attempts: int
) -> Retry | GiveUp:
    """Classify one failed Slack call (see the table in the module docstring).

    ``status`` is the HTTP status (None when no response came back), ``error`` Slack's
    ``error`` field for ``ok: false`` (or a short transport description when ``status`` is
    None), ``retry_after`` the raw header, ``attempts`` how many attempts have been made
    including this one.
    """
    if status is None:
        detail = f": {error}" if error else ""
        return Retry(f"network error{detail}", backoff(attempts))
    if status == 429 or (error in RATE_LIMITED and status < 500 and status != 408):
        return Retry(f"rate limited by Slack (HTTP {status})", retry_after_delay(retry_after))
    if status >= 500 or status == 408:
        return Retry(f"HTTP {status} from Slack", backoff(attempts))
    if error in RETRYABLE:
        return Retry(f"Slack error {error} (temporary)", backoff(attempts))
    if error in PERMANENT:
        return GiveUp(f"Slack error {error}: the request cannot succeed as it is")
    if error:
        return GiveUp(f"Slack error {error} (HTTP {status}) is not known to be temporary")
    return GiveUp(f"HTTP {status} from Slack without a retryable error")


def enforce_max_age(outcome: Outcome, *, age: timedelta, max_age: timedelta = MAX_AGE) -> Outcome:
    """A Retry of a message ``age`` old becomes GiveUp once ``age >= max_age``, saying why."""
    if isinstance(outcome, Retry) and age >= max_age:
        hours = max_age.total_seconds() / 3600
        return GiveUp(f"still failing after {hours:g} h, giving up: {outcome.reason}")
    return outcome
