from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.authorization import managed_event
from application.ports.queries import (
    EventQueries,
    Page,
    PageRequest,
    RegistrationQueries,
    RegistrationView,
)
from application.principal import Principal
from application.use_cases.get_event import co_organizer_ids
from domain.registration import RegistrationStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class ListAttendeesCommand:
    actor: Principal | None
    event_id: UUID
    page: PageRequest
    status: RegistrationStatus | None = None


class ListAttendees:
    """The event's managers (owner, co-organizers, admins) page through its
    registrations, in the order people joined, optionally only the confirmed or
    the waitlisted."""

    def __init__(self, events: EventQueries, registrations: RegistrationQueries) -> None:
        self._events = events
        self._registrations = registrations

    async def execute(self, command: ListAttendeesCommand) -> Page[RegistrationView]:
        event = managed_event(
            command.actor,
            await self._events.get(command.event_id),
            command.event_id,
            await co_organizer_ids(self._events, command.event_id),
        )
        return await self._registrations.attendees(event.id, command.status, command.page)
