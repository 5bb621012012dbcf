"""E-mail over SMTP (aiosmtplib): the channel that works when everything else is down.

One plain-text mail per notification. The subject carries what a phone's lock screen shows::

    [P1] #12 fraud-scorer accuracy below SLA — acknowledge: /incident ack 12

(``— reminder, acknowledge: …`` for reminders, ``— acknowledged`` / ``— resolved`` for the
follow-ups); the body is the notification's text, its link, and the incident key. Every
mail of one incident names the same thread root in ``References`` / ``In-Reply-To``
(``<vigil-12@sender-domain>``) so mail clients group them; ``Auto-Submitted:
auto-generated`` (RFC 3834) keeps vacation responders quiet.

Recipient: the target itself when it is an address, else the handle's address from the map
given to the channel (``@maya`` or ``maya``); none known is a GiveUp that says so.

Failures, by SMTP's own convention: a 4xx reply is temporary (greylisting, a full queue, a
deferred recipient) → Retry; a 5xx reply is permanent (no such user, relaying denied, bad
login) → GiveUp; no connection, a dropped one or a timeout → Retry; the server lacking
something we require (STARTTLS, AUTH) → GiveUp, since only the configuration can fix it.
The password goes to aiosmtplib and nowhere else; server replies are scrubbed of it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from bot.core.clock import Clock, utcnow
from bot.core.errors import ConfigError
from bot.core.retry_outcome import Delivered, GiveUp, Outcome, Retry
from bot.core.secret import Secret
from bot.notify.base import (
    Notification,
    clip,
    scrub_outcome,
)

log = logging.getLogger(__name__)

_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")
_MSGID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
SUBJECT_TITLE_LIMIT = 150


def _one_line(text: str) -> str:
    """No CR/LF may reach a header (they would start a new one); runs of space collapse."""
    return " ".join(text.split())


def subject(n: Notification) -> str:
    """``[P1] #12 <title> — <what to do or what happened>``."""
    head = f"[{n.severity}] #{n.incident_id} {clip(_one_line(n.title), SUBJECT_TITLE_LIMIT)}"
    ack = f"/incident ack {n.incident_id}"
    tail = {
        "page": f"acknowledge: {ack}",
        "reminder": f"reminder, acknowledge: {ack}",
        "acknowledge": "acknowledged",
        "resolve": "resolved",
    }[n.kind]
    return f"{head} — {tail}"


def body(n: Notification) -> str:
    lines = [n.text.rstrip(), ""]
    if n.url:
        lines.append(f"Incident: {n.url}")
    lines.append(f"— Vigil, incident key {n.key}")
    return "\n".join(lines) + "\n"


def recipient(target: str, addresses: Mapping[str, str]) -> str | None:
    """The address for ``target``: the map's entry for the handle (with or without ``@``),
    else the target itself when it is an address; None when neither."""
    for candidate in (target, target.lstrip("@")):
        if candidate in addresses:
            return addresses[candidate]
    return target if _ADDRESS.match(target) else None


def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "vigil.invalid"


def message(n: Notification, *, sender: str, to: str, clock: Clock = utcnow) -> EmailMessage:
    """The mail for ``n`` (see the module docstring)."""
    domain = _domain(sender)
    thread = f"<{_MSGID_UNSAFE.sub('-', n.key).strip('-') or 'incident'}@{domain}>"
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject(n)
    msg["Date"] = format_datetime(clock())
    msg["Message-ID"] = make_msgid(domain=domain)  # with a domain: no DNS lookup
    msg["References"] = thread
    msg["In-Reply-To"] = thread
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Vigil-Incident"] = str(n.incident_id)
    msg["X-Vigil-Severity"] = n.severity
    msg.set_content(body(n))
    return msg


def _reply(code: int, text: str) -> str:
    return f"{code} {clip(_one_line(text), 200)}".strip()


def classify_error(exc: Exception, timeout: float) -> Retry | GiveUp:
    """What one failed SMTP conversation means (see the module docstring)."""
    import aiosmtplib  # here and in _send: building the channel (vigil check) loads no SMTP client

    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        said = "; ".join(_reply(r.code, r.message) for r in exc.recipients)
        if any(400 <= r.code < 500 for r in exc.recipients):
            return Retry(f"the recipient was deferred ({said})")
        return GiveUp(f"the recipient was refused ({said})")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        said = _reply(exc.code, exc.message)
        if 400 <= exc.code < 500:
            return Retry(f"temporary SMTP failure ({said})")
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            return GiveUp(f"login refused ({said}); check the SMTP username and password")
        if exc.code >= 500:
            return GiveUp(f"SMTP refused the mail ({said})")
        return Retry(f"unexpected SMTP reply ({said})")
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return Retry(f"no answer from the mail server within {timeout:g} s")
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected):
        return Retry(f"no connection to the mail server ({clip(_one_line(exc.message), 200)})")
    if isinstance(exc, aiosmtplib.SMTPException):  # STARTTLS/AUTH/SMTPUTF8 not offered
        return GiveUp(f"{clip(_one_line(exc.message), 200)}; check the SMTP settings")
    return Retry(f"no connection to the mail server ({type(exc).__name__})")


class EmailChannel:
    """Sends each notification as one mail through one SMTP server.

    ``starttls`` (default on) upgrades the connection and fails if the server cannot, so a
    password never crosses the network in clear by accident; ``implicit_tls`` is for port
    465. Turn both off only for a relay on localhost (or the tests' server).
    """

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        addresses: Mapping[str, str] | None = None,
        username: str | None = None,
        password: Secret | None = None,
        starttls: bool = True,
        implicit_tls: bool = False,
        timeout: float = 10.0,
        clock: Clock = utcnow,
        name: str = "email",
        label: str = "the mail server",
        via: str = "by e-mail",
    ) -> None:
        if not _ADDRESS.match(parseaddr(sender)[1]):
            raise ConfigError("must be an e-mail address", key="email.sender")
        if starttls and implicit_tls:
            raise ConfigError("choose STARTTLS or implicit TLS, not both", key="email.starttls")
        if (username is None) != (password is None):
            raise ConfigError("give both username and password, or neither", key="email.username")
        self.host = host
        self.port = port
        self.sender = sender
        self._addresses = dict(addresses or {})
        self._username = username
        self._password = password
        self._starttls = starttls
        self._implicit_tls = implicit_tls
        self._timeout = timeout
        self._clock = clock
        self.name = name
        self.label = label
        self.via = via

    async def send(self, notification: Notification) -> Outcome:
        to = recipient(notification.target, self._addresses)
        if to is None:
            outcome: Outcome = GiveUp(f"no e-mail address known for {notification.target}")
        else:
            outcome = await self._send(notification, to)
        if isinstance(outcome, Delivered):
            log.info(
                "e-mail %s for #%d: %s", notification.kind, notification.incident_id, outcome.detail
            )
        else:
            log.warning(
                "e-mail %s for #%d to %s failed: %s",
                notification.kind,
                notification.incident_id,
                notification.target,
                outcome.reason,
            )
        return outcome

    async def _send(self, notification: Notification, to: str) -> Outcome:
        mail = message(notification, sender=self.sender, to=to, clock=self._clock)
        password = self._password.reveal() if self._password is not None else None
        import aiosmtplib  # see classify_error

        try:
            _, reply = await aiosmtplib.send(
                mail,
                hostname=self.host,
                port=self.port,
                username=self._username,
                password=password,
                start_tls=self._starttls,
                use_tls=self._implicit_tls,
                timeout=self._timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            outcome: Outcome = classify_error(exc, self._timeout)
        else:
            outcome = Delivered(f"mail to {to} accepted ({clip(_one_line(reply), 120)})")
        return scrub_outcome(outcome, password) if password else outcome
