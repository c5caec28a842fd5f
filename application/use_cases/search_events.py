from __future__ import annotations

from dataclasses import dataclass, replace

from application.authorization import require_role
from application.ports.queries import (
    EXACT_TOTAL_UP_TO,
    EventCriteria,
    EventOrder,
    EventQueries,
    EventView,
    Page,
    PageRequest,
    Total,
)
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
    #: Count the matches too (`include=total`): one more query, so only on request.
    include_total: bool = False


class SearchEvents:
    """List and search events, a keyset page at a time.

    - Published (the default) and cancelled events are public.
    - Drafts are listed only for organizers (their own) and admins (all).
    - `near` and `radius_km` go together; a date range must not be inverted.
    - Sorting by distance needs `near`.
    - The total is counted only when asked for, exactly up to EXACT_TOTAL_UP_TO.
    """

    def __init__(self, queries: EventQueries) -> None:
        self._queries = queries

    async def execute(self, command: SearchEventsCommand) -> Page[EventView]:
        criteria = _checked(command.criteria)
        if criteria.status is EventStatus.DRAFT:
            actor = require_role(command.actor, Role.ORGANIZER)
            if not actor.is_admin:
                if criteria.organizer_id not in (None, actor.user_id):
                    total = Total(0, exact=True) if command.include_total else None
                    return Page(items=[], next=None, total=total)
                criteria = replace(criteria, organizer_id=actor.user_id)
        page = await self._queries.search(criteria, command.page)
        if not command.include_total:
            return page
        total = await self._queries.count(criteria, exact_up_to=EXACT_TOTAL_UP_TO)
        return replace(page, total=total)


def _checked(criteria: EventCriteria) -> EventCriteria:
    if (criteria.near is None) != (criteria.radius_km is None):
        raise InvalidValue("near", "near and radius_km go together")
    if criteria.order is EventOrder.DISTANCE and criteria.near is None:
        raise InvalidValue("sort", "sort=distance needs near (and radius_km)")
    if criteria.radius_km is not None and not 0 < criteria.radius_km <= MAX_RADIUS_KM:
        raise InvalidValue("radius_km", f"must be more than 0 and at most {MAX_RADIUS_KM:g}")
    if criteria.starts_from and criteria.starts_to and criteria.starts_from > criteria.starts_to:
        raise InvalidValue("starts_to", "must not be before starts_from")
    if criteria.text is not None and len(criteria.text) > 200:
        raise InvalidValue("q", "must be at most 200 characters")
    return criteria
