"""Deterministic stand-ins for the outside world: a settable clock, a recording
notifier, a table-driven geocoder and an opaque-token service."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from application.errors import NotAuthenticated
from application.ports.geocoder import Geocoder
from application.ports.notifications import Notification, Notifier, Recipient
from application.ports.queries import EventView
from application.ports.security import AccessClaims, TokenService
from application.ports.system import Clock
from domain.users import Role
from domain.values import Coordinates


class FixedClock(Clock):
    """Stands still until told to move."""

    def __init__(self, now: datetime | None = None) -> None:
        self._now = now or datetime(2030, 1, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, now: datetime) -> None:
        self._now = now


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """What a RecordingNotifier was handed for one message."""

    notification: Notification
    recipient: Recipient
    event: EventView | None
    message_id: str


@dataclass
class RecordingNotifier(Notifier):
    delivered: list[Delivery] = field(default_factory=list)

    async def deliver(
        self,
        notification: Notification,
        *,
        recipient: Recipient,
        event: EventView | None,
        message_id: str,
    ) -> None:
        self.delivered.append(
            Delivery(
                notification=notification, recipient=recipient, event=event, message_id=message_id
            )
        )


@dataclass
class TableGeocoder(Geocoder):
    places: dict[str, Coordinates] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    async def locate(self, address: str) -> Coordinates | None:
        self.asked.append(address)
        return self.places.get(address)


class OpaqueTokenService(TokenService):
    """Random access tokens remembered in a dict: what a JWT would carry, without
    the cryptography, so use-case tests read plainly."""

    def __init__(self, ttl_seconds: int = 900) -> None:
        self._ttl = ttl_seconds
        self._issued: dict[str, AccessClaims] = {}

    @property
    def access_ttl_seconds(self) -> int:
        return self._ttl

    def issue_access(self, *, user_id: UUID, session_id: UUID, role: Role, now: datetime) -> str:
        token = "at-" + secrets.token_urlsafe(16)
        expires_at = now + timedelta(seconds=self._ttl)
        self._issued[token] = AccessClaims(
            user_id=user_id, session_id=session_id, role=role, expires_at=expires_at
        )
        return token

    def read_access(self, token: str, now: datetime) -> AccessClaims:
        claims = self._issued.get(token)
        if claims is None or now >= claims.expires_at:
            raise NotAuthenticated("the access token is not valid")
        return claims

    def new_refresh_token(self) -> str:
        return "rt-" + secrets.token_urlsafe(32)

    def digest(self, refresh_token: str) -> str:
        return hashlib.sha256(refresh_token.encode()).hexdigest()
