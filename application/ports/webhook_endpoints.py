"""Storing webhook endpoints (`domain.webhooks.Webhook`) and the log of every
delivery attempt (docs/notifications.md, "Webhooks").

Deliveries themselves are outbox rows (kind `webhook`, `webhook_id` set): the
same queue, leases, backoff and dead letters as mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.ports.queries import Keyset
from domain.webhooks import Webhook


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
