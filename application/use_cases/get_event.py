from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.authorization import visible_event
from application.ports.queries import EventQueries, EventView
from application.principal import Principal
from domain.event import EventStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class GetEventCommand:
    actor: Principal | None
    event_id: UUID


class GetEvent:
    """Read one event. A draft the caller may not manage (as its owner, a
    co-organizer or an admin) is reported as not found, so its existence does not leak."""

    def __init__(self, queries: EventQueries) -> None:
        self._queries = queries

    async def execute(self, command: GetEventCommand) -> EventView:
        view = await self._queries.get(command.event_id)
        co_organizers: frozenset[UUID] = frozenset()
        if view is not None and view.status is EventStatus.DRAFT and command.actor is not None:
            co_organizers = await co_organizer_ids(self._queries, view.id)
        return visible_event(command.actor, view, command.event_id, co_organizers)


async def co_organizer_ids(queries: EventQueries, event_id: UUID) -> frozenset[UUID]:
    return frozenset(c.user.id for c in await queries.co_organizers(event_id))
