from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from uuid import UUID

from application.authorization import can_manage_event, can_own_event, visible_event
from application.ports.queries import EventQueries, EventView
from application.principal import Principal
from domain.users import Role


@dataclass(frozen=True, slots=True, kw_only=True)
class GetEventCommand:
    actor: Principal | None
    event_id: UUID


class GetEvent:
    """Read one event. A draft the caller may not manage (as its owner, a
    co-organizer or an admin) is reported as not found, so its existence does not leak.
    Its managers also see how many tickets were checked in (`checked_in_count`)."""

    def __init__(self, queries: EventQueries) -> None:
        self._queries = queries

    async def execute(self, command: GetEventCommand) -> EventView:
        view = await self._queries.get(command.event_id)
        co_organizers: frozenset[UUID] = frozenset()
        actor = command.actor
        if (
            view is not None
            and actor is not None
            and actor.role is Role.ORGANIZER  # only organizers co-organize
            and not can_own_event(actor, view)
        ):
            co_organizers = await co_organizer_ids(self._queries, view.id)
        visible = visible_event(command.actor, view, command.event_id, co_organizers)
        return await with_manager_figures(self._queries, visible, command.actor, co_organizers)


async def with_manager_figures(
    queries: EventQueries,
    view: EventView,
    actor: Principal | None,
    co_organizers: Collection[UUID] = (),
) -> EventView:
    """The view with what only the event's managers see (`checked_in_count`); as it
    is for everyone else. Every use case answering with an Event goes through here,
    so one caller sees the same Event (and `ETag`) from each of them."""
    if not can_manage_event(actor, view, co_organizers):
        return view
    return replace(view, checked_in_count=await queries.checked_in_count(view.id))


async def co_organizer_ids(queries: EventQueries, event_id: UUID) -> frozenset[UUID]:
    return frozenset(c.user.id for c in await queries.co_organizers(event_id))
