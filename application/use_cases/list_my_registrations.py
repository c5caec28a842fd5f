from __future__ import annotations

from dataclasses import dataclass

from application.authorization import require_signed_in
from application.ports.queries import Page, PageRequest, RegistrationQueries, RegistrationView
from application.ports.system import Clock
from application.principal import Principal


@dataclass(frozen=True, slots=True, kw_only=True)
class ListMyRegistrationsCommand:
    actor: Principal | None
    page: PageRequest
    upcoming: bool = False


class ListMyRegistrations:
    """A user's own registrations with their events, by start time; `upcoming`
    keeps only events that have not started yet."""

    def __init__(self, registrations: RegistrationQueries, clock: Clock) -> None:
        self._registrations = registrations
        self._clock = clock

    async def execute(self, command: ListMyRegistrationsCommand) -> Page[RegistrationView]:
        actor = require_signed_in(command.actor)
        after = self._clock.now() if command.upcoming else None
        return await self._registrations.for_user(
            actor.user_id, starting_after=after, page=command.page
        )
