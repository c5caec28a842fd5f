from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.authorization import visible_event
from application.ports.queries import EventQueries, EventView
from application.principal import Principal


@dataclass(frozen=True, slots=True, kw_only=True)
class GetEventCommand:
    actor: Principal | None
    event_id: UUID


class GetEvent:
    """Read one event. A draft the caller may not manage is reported as not found,
    so its existence does not leak."""

    def __init__(self, queries: EventQueries) -> None:
        self._queries = queries

    async def execute(self, command: GetEventCommand) -> EventView:
        view = await self._queries.get(command.event_id)
        return visible_event(command.actor, view, command.event_id)
