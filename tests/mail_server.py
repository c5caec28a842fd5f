"""A real SMTP server (aiosmtpd) on 127.0.0.1, run in the test's own event loop.

It can go down and come back on the same port (an outage), refuse chosen
recipients with a chosen reply, require STARTTLS or speak implicit TLS, and
ask for a login. Tests wait for what it received with `wait_for`, which wakes
on each message instead of sleeping.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import warnings
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class MailServer:
    #: Recipient address -> SMTP reply for RCPT TO (e.g. "550 5.1.1 no such user").
    refuse: dict[str, str] = field(default_factory=dict)
    starttls: ssl.SSLContext | None = None
    implicit_tls: ssl.SSLContext | None = None
    login: tuple[str, str] | None = None
    received: list[Received] = field(default_factory=list)
    port: int = 0
    #: When set, each message waits for this event before it is accepted (a slow relay).
    hold: asyncio.Event | None = None
    #: How many messages are waiting for `hold` now.
    holding: int = 0

    def __post_init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._arrived = asyncio.Condition()
        self._sessions: list[SMTP] = []

    async def start(self) -> None:
        """Listen (again) on the same port as before, or on a free one."""
        self._server = await asyncio.get_running_loop().create_server(
            self._protocol, LOOPBACK, self.port, ssl=self.implicit_tls, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every open connection: the relay is down."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        sessions, self._sessions = self._sessions, []
        for session in sessions:
            if session.transport is not None:
                session.transport.close()

    @property
    def url(self) -> str:
        return f"smtp://{LOOPBACK}:{self.port}"

    async def wait_for(self, count: int, within: float = 30.0) -> list[Received]:
        """Until at least `count` messages have arrived (TimeoutError after `within` s)."""
        async with asyncio.timeout(within):
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.received) >= count)
        return list(self.received)

    def per_message_id(self) -> Counter[str]:
        return Counter(each.message_id for each in self.received)

    # -- aiosmtpd ---------------------------------------------------------------------

    def _protocol(self) -> SMTP:
        with warnings.catch_warnings():
            # aiosmtpd cannot tell an implicit-TLS connection from a plain one, so AUTH
            # must not "require TLS" there, and it warns about that.
            warnings.simplefilter("ignore", UserWarning)
            session = SMTP(
                self,
                hostname="mail.test",
                enable_SMTPUTF8=True,
                tls_context=self.starttls,
                require_starttls=self.starttls is not None,
                auth_required=self.login is not None,
                auth_require_tls=self.starttls is not None,
                authenticator=self._authenticate if self.login else None,
            )
        self._sessions.append(session)
        return session

    def _authenticate(
        self, _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and (
                data.login.decode(),
                data.password.decode(),
            )
            == self.login
        )
        return AuthResult(success=ok, handled=False)  # aiosmtpd sends the 235/535

    async def handle_RCPT(
        self,
        _server: SMTP,
        _session: Session,
        envelope: Envelope,
        address: str,
        _options: list[str],
    ) -> str:
        reply = self.refuse.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        if self.hold is not None:
            self.holding += 1
            try:
                await self.hold.wait()
            finally:
                self.holding -= 1
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = message_from_bytes(raw, policy=default)
        assert isinstance(message, EmailMessage)
        async with self._arrived:
            self.received.append(
                Received(
                    sender=str(envelope.mail_from),
                    recipients=tuple(envelope.rcpt_tos),
                    message=message,
                )
            )
            self._arrived.notify_all()
        return "250 Message accepted for delivery"


def self_signed_tls(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A certificate for 127.0.0.1 made with the openssl tool: (server, client) contexts."""
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [  # noqa: S607 - the openssl tool from PATH
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client
