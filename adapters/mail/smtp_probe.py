"""The SMTP relay as a readiness probe: reported, never essential."""

from __future__ import annotations

from aiosmtplib import SMTP

from adapters.mail.smtp import SmtpRelay, TlsMode
from application.ports.health import HealthProbe


class SmtpProbe(HealthProbe):
    """The relay takes a session: connect, greeting, EHLO, TLS and login as configured,
    NOOP, QUIT. Not essential: mail waits in the outbox while the relay is down."""

    name = "smtp"
    essential = False

    def __init__(self, relay: SmtpRelay) -> None:
        self._relay = relay

    async def check(self) -> bool:
        relay = self._relay
        client = SMTP(
            hostname=relay.host,
            port=relay.port,
            username=relay.username,
            password=relay.password,
            use_tls=relay.tls is TlsMode.TLS,
            start_tls=relay.tls is TlsMode.STARTTLS,
            timeout=relay.timeout,
        )
        await client.connect()
        try:
            await client.noop()
        finally:
            client.close()  # no QUIT round trip: the answer is in
        return True
