from __future__ import annotations

from dataclasses import dataclass, replace

from application.authorization import require_role
from application.ports.queries import EventCriteria, EventQueries, EventView, Page, PageRequest
from application.principal import Principal
from domain.errors import InvalidValue
from domain.event import EventStatus
from domain.users import Role

MAX_RADIUS_KM = 20_000.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchEventsCommand:
    actor: Principal | None
    criteria: EventCriteria
    page: PageRequest


class SearchEvents:
    """List and search events, a keyset page at a time.

    - Published (the default) and cancelled events are public.
    - Drafts are listed only for organizers (their own) and admins (all).
    - `near` and `radius_km` go together; a date range must not be inverted.
    """

    def __init__(self, queries: EventQueries) -> None:
        self._queries = queries

    async def execute(self, command: SearchEventsCommand) -> Page[EventView]:
        criteria = _checked(command.criteria)
        if criteria.status is EventStatus.DRAFT:
            actor = require_role(command.actor, Role.ORGANIZER)
            if not actor.is_admin:
                if criteria.organizer_id not in (None, actor.user_id):
                    return Page(items=[], next=None)
                criteria = replace(criteria, organizer_id=actor.user_id)
        return await self._queries.search(criteria, command.page)


def _checked(criteria: EventCriteria) -> EventCriteria:
    if (criteria.near is None) != (criteria.radius_km is None):
        raise InvalidValue("near", "near and radius_km go together")
    if criteria.radius_km is not None and not 0 < criteria.radius_km <= MAX_RADIUS_KM:
        raise InvalidValue("radius_km", f"must be more than 0 and at most {MAX_RADIUS_KM:g}")
    if criteria.starts_from and criteria.starts_to and criteria.starts_from > criteria.starts_to:
        raise InvalidValue("starts_to", "must not be before starts_from")
    if criteria.text is not None and len(criteria.text) > 200:
        raise InvalidValue("q", "must be at most 200 characters")
    return criteria
