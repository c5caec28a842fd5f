"""Mail over SMTP with aiosmtplib: plain, STARTTLS or implicit TLS, with timeouts.

One connection is kept while messages follow each other (a batch of the
worker), and opened afresh after a pause or any error. A refusal that names
this message (a 5xx for its recipient or its content) is reported as
`DeliveryRefused`, so it is dead-lettered; everything else (the relay is down,
times out, answers 4xx, rejects our credentials) is left to the worker's
retries.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import parse_qs, unquote, urlsplit

from aiosmtplib import SMTP, SMTPDataError, SMTPRecipientsRefused, SMTPResponseException

from adapters.mail.composer import MailComposer
from application.ports.notifications import DeliveryRefused, Notification, Notifier, Recipient
from application.ports.queries import EventView

PERMANENT = 500
_ON = ("1", "true", "yes", "on")
_OFF = ("0", "false", "no", "off")


class TlsMode(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpRelay:
    host: str
    port: int
    tls: TlsMode = TlsMode.NONE
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0

    def __repr__(self) -> str:  # never print the password
        return f"SmtpRelay({self.tls.value}://{self.host}:{self.port}, user={self.username!r})"

    def client(self, tls_context: ssl.SSLContext | None = None) -> SMTP:
        """An unconnected client for this relay, with its TLS mode and credentials."""
        return SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.tls is TlsMode.TLS,
            start_tls=self.tls is TlsMode.STARTTLS,
            timeout=self.timeout,
            tls_context=tls_context,
        )


def parse_smtp_url(url: str) -> SmtpRelay:
    """`smtp://[user:pass@]host[:port][?starttls=1&timeout=S]` or `smtps://...`
    (implicit TLS). Ports default to 25, 587 with STARTTLS, 465 for smtps."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("the SMTP URL must look like smtp://user:pass@host:port or smtps://...")
    query = {key: values[-1] for key, values in parse_qs(parts.query, True).items()}
    unknown = sorted(set(query) - {"starttls", "timeout"})
    if unknown:
        raise ValueError(
            f"the SMTP URL has an unknown parameter {unknown[0]!r} (it takes starttls and timeout)"
        )
    # Anything but a clear on or off is refused: a typo must not mean plaintext.
    starttls_value = query.get("starttls", "off").lower()
    if starttls_value not in _ON + _OFF:
        raise ValueError("the SMTP URL's starttls must be on or off (1/0, true/false, yes/no)")
    starttls = starttls_value in _ON
    if parts.scheme == "smtps":
        tls, default_port = TlsMode.TLS, 465
    elif starttls:
        tls, default_port = TlsMode.STARTTLS, 587
    else:
        tls, default_port = TlsMode.NONE, 25
    try:
        timeout = float(query.get("timeout", "30"))
        port = parts.port or default_port
    except ValueError as exc:
        raise ValueError(f"the SMTP URL has a bad port or timeout: {exc}") from None
    if not 0 < timeout <= 600:
        raise ValueError("the SMTP timeout must be between 0 and 600 seconds")
    return SmtpRelay(
        host=parts.hostname,
        port=port,
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=timeout,
    )


class SmtpNotifier(Notifier):
    def __init__(
        self,
        relay: SmtpRelay,
        composer: MailComposer,
        *,
        tls_context: ssl.SSLContext | None = None,
        reuse_for: float = 10.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._relay = relay
        self._composer = composer
        self._tls_context = tls_context
        self._reuse_for = reuse_for
        self._now = now
        self._client: SMTP | None = None
        self._last_used = 0.0
        self._lock: asyncio.Lock | None = None

    async def deliver(
        self,
        notification: Notification,
        *,
        recipient: Recipient,
        event: EventView | None,
        message_id: str,
    ) -> None:
        message = self._composer.compose(
            notification, recipient=recipient, event=event, message_id=message_id, now=self._now()
        )
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            client = await self._connection()
            try:
                await client.send_message(
                    message, sender=self._composer.sender_address, recipients=[recipient.email]
                )
            except (SMTPRecipientsRefused, SMTPDataError) as refused:
                await self._drop()
                if _permanent(refused):
                    raise DeliveryRefused(str(refused)) from refused
                raise
            except BaseException:
                await self._drop()
                raise
            self._last_used = time.monotonic()

    async def aclose(self) -> None:
        """Say QUIT to the relay, if connected."""
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except Exception:  # closing anyway
                client.close()

    async def _connection(self) -> SMTP:
        client = self._client
        fresh = time.monotonic() - self._last_used < self._reuse_for
        if client is not None and client.is_connected and fresh:
            return client
        await self.aclose()
        client = self._relay.client(self._tls_context)
        await client.connect()
        self._client = client
        return client

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


def _permanent(refused: SMTPRecipientsRefused | SMTPDataError) -> bool:
    if isinstance(refused, SMTPResponseException):
        return refused.code >= PERMANENT
    return all(each.code >= PERMANENT for each in refused.recipients)
