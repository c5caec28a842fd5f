"""The SMTP relay as a readiness probe: reported, never essential."""

from __future__ import annotations

from adapters.mail.smtp import SmtpRelay
from application.ports.health import HealthProbe


class SmtpProbe(HealthProbe):
    """The relay takes a session: connect, greeting, EHLO, TLS and login as configured,
    NOOP, QUIT. Not essential: mail waits in the outbox while the relay is down."""

    name = "smtp"
    essential = False

    def __init__(self, relay: SmtpRelay) -> None:
        self._relay = relay

    async def check(self) -> bool:
        client = self._relay.client()
        await client.connect()
        try:
            await client.noop()
        finally:
            client.close()  # no QUIT round trip: the answer is in
        return True
