"""A user's calendar feed: a secret URL that calendar apps subscribe to.

The secret is 256 random bits (`TokenService.new_refresh_token`, URL-safe
base64) and is stored only as its SHA-256 digest (`TokenService.digest`), like
refresh tokens and the mailed account tokens. Whoever holds the URL reads the
owner's upcoming schedule, and nothing else (docs/security.md, "Calendar feed").
"""

from __future__ import annotations

from dataclasses import dataclass

from application.accounts import hold_active_account
from application.authorization import require_signed_in
from application.ports.queries import CalendarEntry, RegistrationQueries
from application.ports.repositories import CalendarFeed
from application.ports.security import TokenService
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from application.principal import Principal
from domain.errors import NotFound


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarFeedCommand:
    actor: Principal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadCalendarFeedCommand:
    token: str


class IssueCalendarFeed:
    """A new secret for the caller's feed; the previous one, if any, stops working
    in the same transaction (rotation). Returns the raw token, which is never stored."""

    def __init__(self, uow: UnitOfWorkFactory, tokens: TokenService, clock: Clock) -> None:
        self._uow = uow
        self._tokens = tokens
        self._clock = clock

    async def execute(self, command: CalendarFeedCommand) -> str:
        actor = require_signed_in(command.actor)
        now = self._clock.now()
        raw = self._tokens.new_refresh_token()
        async with self._uow() as uow:
            await hold_active_account(uow, actor, now)
            await uow.calendar_feeds.replace(
                CalendarFeed(user_id=actor.user_id, digest=self._tokens.digest(raw), created_at=now)
            )
            await uow.commit()
        return raw


class RevokeCalendarFeed:
    """The caller's feed URL stops working. Idempotent: revoking when there is no
    feed changes nothing and is no error (DELETE answers 204 either way)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, command: CalendarFeedCommand) -> None:
        actor = require_signed_in(command.actor)
        async with self._uow() as uow:
            if await uow.calendar_feeds.discard(actor.user_id):
                await uow.commit()


class ReadCalendarFeed:
    """The feed behind a secret: its owner's confirmed and waitlisted registrations
    for published events that have not ended. NotFound for an unknown, rotated or
    revoked secret, and for a deactivated account (the URL works again if it is
    reactivated); the error never repeats the secret."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        registrations: RegistrationQueries,
        tokens: TokenService,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._registrations = registrations
        self._tokens = tokens
        self._clock = clock

    async def execute(self, command: ReadCalendarFeedCommand) -> list[CalendarEntry]:
        async with self._uow(read_only=True) as uow:
            feed = await uow.calendar_feeds.find(self._tokens.digest(command.token))
            owner = None if feed is None else await uow.users.get(feed.user_id)
        if feed is None or owner is None or not owner.is_active:
            raise NotFound("calendar feed", "at this URL")
        return await self._registrations.calendar(feed.user_id, ending_after=self._clock.now())
