from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import UNSET, Meta, Struct, UnsetType

from application.ports.webhook_endpoints import WebhookAttempt
from domain.webhooks import MAX_DESCRIPTION_LENGTH, MAX_URL_LENGTH, Webhook
from entrypoints.http.schemas.common import PRINTABLE

WebhookType = Literal[
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
]
Url = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        examples=["https://hooks.example.org/eventapi"],
        description="`https://` (or `http://` when EVENTAPI_WEBHOOK_ALLOW_HTTP=on)",
    ),
]
Types = Annotated[list[WebhookType], Meta(min_length=1, max_length=20)]
Description = Annotated[str, Meta(max_length=MAX_DESCRIPTION_LENGTH, pattern=PRINTABLE)]
Secret = Annotated[
    str,
    Meta(
        description="`whsec_` + base64: the key of the `webhook-signature` HMAC. Shown "
        "only when the webhook is created and when its secret is rotated."
    ),
]


class NewWebhookIn(Struct, forbid_unknown_fields=True, frozen=True):
    url: Url
    event_types: Types
    description: Description = ""


class WebhookChangesIn(Struct, forbid_unknown_fields=True, frozen=True):
    url: Url | UnsetType = UNSET
    event_types: Types | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET


class WebhookOut(Struct, frozen=True):
    id: UUID
    owner_id: UUID
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    created_at: datetime
    #: Since when every delivery failed (null: the last one succeeded).
    failing_since: datetime | None
    #: When it was disabled for failing 3 days (null: it was not).
    disabled_at: datetime | None

    @classmethod
    def of(cls, hook: Webhook) -> WebhookOut:
        return cls(
            id=hook.id,
            owner_id=hook.owner_id,
            url=hook.url,
            event_types=list(hook.event_types),
            description=hook.description,
            enabled=hook.enabled,
            created_at=hook.created_at,
            failing_since=hook.failing_since,
            disabled_at=hook.disabled_at,
        )


class WebhookWithSecretOut(Struct, frozen=True):
    id: UUID
    owner_id: UUID
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    created_at: datetime
    secret: Secret

    @classmethod
    def of(cls, hook: Webhook) -> WebhookWithSecretOut:
        return cls(
            id=hook.id,
            owner_id=hook.owner_id,
            url=hook.url,
            event_types=list(hook.event_types),
            description=hook.description,
            enabled=hook.enabled,
            created_at=hook.created_at,
            secret=hook.secret,
        )


class WebhookPage(Struct, frozen=True):
    items: list[WebhookOut]
    next_cursor: str | None


class DeliveryOut(Struct, frozen=True):
    id: UUID
    #: The `webhook-id` header of the delivery (the same on every attempt of it).
    message_id: str
    event_type: str
    attempt: int
    #: `delivered` (a 2xx), `failed` (tried again at `next_attempt_at`, unless null)
    #: or `refused` (the address was refused: not tried again).
    status: str
    response_status: int | None
    at: datetime
    next_attempt_at: datetime | None

    @classmethod
    def of(cls, attempt: WebhookAttempt) -> DeliveryOut:
        return cls(
            id=attempt.id,
            message_id=attempt.message_id,
            event_type=attempt.event_type,
            attempt=attempt.attempt,
            status=attempt.status,
            response_status=attempt.response_status,
            at=attempt.at,
            next_attempt_at=attempt.next_attempt_at,
        )


class DeliveryPage(Struct, frozen=True):
    items: list[DeliveryOut]
    next_cursor: str | None
