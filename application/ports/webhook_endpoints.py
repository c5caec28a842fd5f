"""Webhook endpoints: who subscribed to what, with the secret that signs what they
receive, and the log of every delivery attempt (docs/notifications.md, "Webhooks").

Deliveries themselves are outbox rows (kind `webhook`, `webhook_id` set): the
same queue, leases, backoff and dead letters as mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from application.ports.queries import Keyset

#: What an endpoint may subscribe to (the contract's list, in its order).
WEBHOOK_TYPES = (
    "event.published",
    "event.updated",
    "event.cancelled",
    "event.deleted",
    "registration.confirmed",
    "registration.waitlisted",
    "registration.promoted",
    "registration.cancelled",
    "check_in.created",
    "webhook.ping",
)
#: How long a rotated-out secret still signs deliveries.
PREVIOUS_SECRET_OVERLAP = timedelta(hours=24)
#: An endpoint failing this long (every attempt since `failing_since`) is disabled.
DISABLE_AFTER = timedelta(days=3)
MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class Webhook:
    """One subscriber endpoint. The secrets are kept as they are (not hashed): the
    worker needs them to sign (docs/security.md, "Webhook secrets")."""

    id: UUID
    owner_id: UUID
    url: str
    event_types: tuple[str, ...]
    description: str
    secret: str = field(repr=False)
    created_at: datetime
    enabled: bool = True
    previous_secret: str | None = field(default=None, repr=False)
    previous_secret_expires_at: datetime | None = None
    #: When the first of the failures since the last success happened.
    failing_since: datetime | None = None
    #: When it was disabled for failing too long (None: never, or enabled again).
    disabled_at: datetime | None = None

    def signing_secrets(self, now: datetime) -> list[str]:
        """The current secret, and the previous one while its overlap lasts."""
        secrets = [self.secret]
        if (
            self.previous_secret is not None
            and self.previous_secret_expires_at is not None
            and now < self.previous_secret_expires_at
        ):
            secrets.append(self.previous_secret)
        return secrets

    def rotated(self, secret: str, now: datetime) -> Webhook:
        return replace(
            self,
            secret=secret,
            previous_secret=self.secret,
            previous_secret_expires_at=now + PREVIOUS_SECRET_OVERLAP,
        )

    def subscribes_to(self, event_type: str) -> bool:
        return event_type == "webhook.ping" or event_type in self.event_types


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscriber:
    webhook_id: UUID
    owner_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookAttempt:
    """One try at delivering one message to one endpoint.

    `status`: `delivered` (a 2xx), `failed` (another answer or no answer: tried
    again at `next_attempt_at`, or not when that is None), `refused` (the
    destination guard refused the address: never tried again)."""

    id: UUID
    webhook_id: UUID
    message_id: str
    event_type: str
    attempt: int
    status: str
    response_status: int | None
    at: datetime
    next_attempt_at: datetime | None


class WebhookRepository(Protocol):
    """Endpoints and their delivery log, in the unit of work's transaction."""

    async def add(self, webhook: Webhook) -> None: ...

    async def get(self, webhook_id: UUID) -> Webhook | None: ...

    async def save(self, webhook: Webhook) -> None: ...

    async def delete(self, webhook_id: UUID) -> bool:
        """Delete the endpoint and its delivery log; whether it existed."""
        ...

    async def page(
        self, *, owner_id: UUID | None, limit: int, after: Keyset | None
    ) -> list[Webhook]:
        """Endpoints by id (creation order), one owner's or (None) everybody's;
        at most `limit` after `after`."""
        ...

    async def delete_owned_by(self, owner_id: UUID) -> int:
        """Delete a person's endpoints and their logs (erasure); how many."""
        ...

    async def subscribers(self, *, event_id: UUID, event_type: str) -> list[Subscriber]:
        """Enabled endpoints subscribed to `event_type` that may hear about the
        event: its organizer's, and those of active admins. In id order."""
        ...

    async def display_name(self, user_id: UUID) -> str | None:
        """The person's full name, for a payload (None: no such account)."""
        ...

    async def record_attempt(self, attempt: WebhookAttempt) -> None: ...

    async def attempts(
        self, webhook_id: UUID, *, limit: int, after: Keyset | None
    ) -> list[WebhookAttempt]:
        """The endpoint's delivery log, newest first, keyset by (at, id)."""
        ...
