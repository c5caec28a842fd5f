"""A webhook endpoint: who subscribed to what, the secrets that sign what it
receives, and when it is switched off for failing (docs/notifications.md, "Webhooks")."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from uuid import UUID

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

    def after_attempt(self, *, delivered: bool, now: datetime) -> Webhook:
        """The endpoint after one delivery attempt: a success ends a failure streak;
        a failure starts one (`failing_since`) or, once the streak is
        `DISABLE_AFTER` old, disables the endpoint."""
        if delivered:
            return self if self.failing_since is None else replace(self, failing_since=None)
        if self.failing_since is None:
            return replace(self, failing_since=now)
        if self.enabled and now - self.failing_since >= DISABLE_AFTER:
            return replace(self, enabled=False, disabled_at=now)
        return self
