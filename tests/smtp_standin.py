"""A real SMTP server for the e-mail channel's tests: aiosmtpd on an ephemeral 127.0.0.1 port.

``start_smtp()`` returns the controller (stop it) and a handle on the mailbox; the mailbox
can be told to answer RCPT or DATA with an error code, as a real server would.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts, or answers what the test scripts."""

    def __init__(self) -> None:
        self.mails: list[Envelope] = []
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply is not None:
            return self.data_reply
        self.mails.append(envelope)
        return "250 2.0.0 Ok: queued as 4711"

    def message(self, i: int = 0) -> EmailMessage:
        content = self.mails[i].content
        assert isinstance(content, bytes)
        msg = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


class EphemeralController(Controller):
    """aiosmtpd's Controller on port 0: learns the real port before its readiness check."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


SMTP_USER = "vigil"
SMTP_PASSWORD = "smtp-password-s3cret"


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535


@dataclass
class SmtpServer:
    mailbox: Mailbox
    port: int


def start_smtp(**kwargs: Any) -> tuple[EphemeralController, SmtpServer]:
    mailbox = Mailbox()
    controller = EphemeralController(mailbox, hostname="127.0.0.1", port=0, **kwargs)
    controller.start()
    return controller, SmtpServer(mailbox, controller.port)
