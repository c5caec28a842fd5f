"""`/api/v1/events`: listing and search, the event itself, and its calendar entry."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar import delete as http_delete
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import (
    FromPath,
    FromQuery,
    HeaderParameter,
    JSONBody,
    Parameter,
    SkipValidation,
)
from msgspec import UNSET

from adapters.icalendar_invites import event_calendar
from application.errors import PreconditionFailed
from application.ports.queries import (
    DEFAULT_PAGE_SIZE,
    EXACT_TOTAL_UP_TO,
    EventCriteria,
    EventOrder,
    EventView,
)
from application.ports.system import Clock
from application.principal import Principal
from application.use_cases.cancel_event import CancelEvent, CancelEventCommand
from application.use_cases.create_event import CreateEvent, CreateEventCommand
from application.use_cases.delete_event import DeleteEvent, DeleteEventCommand
from application.use_cases.get_event import GetEvent, GetEventCommand
from application.use_cases.manage_co_organizers import (
    AddCoOrganizer,
    CoOrganizerCommand,
    ListCoOrganizers,
    ListCoOrganizersCommand,
    RemoveCoOrganizer,
)
from application.use_cases.search_events import SearchEvents, SearchEventsCommand
from application.use_cases.update_event import UpdateEvent, UpdateEventCommand
from domain.errors import InvalidValue
from domain.event import EventStatus
from domain.values import FIRST_YEAR, LAST_YEAR, Coordinates
from entrypoints.http.cursors import CursorCodec
from entrypoints.http.guards import requires_bearer
from entrypoints.http.idempotency import idempotent
from entrypoints.http.openapi import BEARER, OPTIONAL_BEARER, responses
from entrypoints.http.paging import NO_NUL, Limit, page_request, query_fingerprint
from entrypoints.http.schemas.common import given
from entrypoints.http.schemas.events import (
    CancelIn,
    CoOrganizerList,
    CoOrganizerOut,
    EventChangesIn,
    EventListItem,
    EventOut,
    EventPage,
    NewCoOrganizerIn,
    NewEventIn,
    TotalOut,
)

Principal_ = NamedDependency[Principal | None]
#: `YYYY-MM-DD`, or that with `THH:MM[:SS[.fraction]]` and a UTC offset (`Z` or ±HH:MM),
#: years 1970-2200 (domain.values.FIRST_YEAR/LAST_YEAR). Impossible days (`02-30`) pass
#: the pattern and are refused with a 400.
DATE_OR_MOMENT = (
    r"^(19[7-9][0-9]|2[01][0-9][0-9]|2200)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$"
)

#: The orders of `GET /events`, every one keyset-paginated.
EventSort = Literal["starts_at", "-starts_at", "relevance", "distance"]
SORT_DESCRIPTION = (
    "`starts_at` (default): soonest first; `-starts_at`: latest first; "
    "`relevance`: best matches of `q` first (each searched word or phrase scores 1 when "
    "the event contains it and 2 more when its title does), ties by start time; "
    "without `q` it is `starts_at`; `distance`: nearest to `near` first (needs `near`)."
)
Q_DESCRIPTION = (
    "Full-text search over title, description text, venue and city, websearch-style: "
    "all words are required, each as a word prefix (`volley` finds `volleyball`); "
    '`"quoted words"` must occur together in that order; `OR` (upper case) between two '
    "words or phrases accepts either (`pub OR quiz`; it binds tighter than the implicit "
    'AND); a leading `-` excludes (`concert -jazz`, `-"sold out"`). Case, accents '
    "(`cafe` finds `Café`) and punctuation do not matter; markup is never searched; "
    "a `q` without any word (`%`) finds nothing."
)
CITY_DESCRIPTION = (
    "The city starts with these words, the last one possibly cut short, ignoring case, "
    "accents and surrounding spaces: `Berl` finds Berlin, `New` finds New York and "
    "Newcastle, `new y` only New York, `Sao Paulo` finds São Paulo"
)
COUNTRY_DESCRIPTION = (
    "An ISO 3166-1 alpha-2 code (`DE`, `gb`) or an English name (`Germany`, `UK`); "
    "events store the code"
)
DateOrMoment = Annotated[
    str | None,
    Parameter(
        max_length=40,
        pattern=DATE_OR_MOMENT,
        description="A date (`2030-05-01`, the whole day in UTC) or an RFC 3339 date-time "
        "with its offset (`2030-05-01T18:00:00+02:00`)",
    ),
]
#: `latitude,longitude`: -90..90 and -180..180 in decimal degrees.
NEAR = (
    r"^-?(90(\.0+)?|[1-8]?[0-9](\.[0-9]+)?),"
    r"-?(180(\.0+)?|(1[0-7][0-9]|[1-9]?[0-9])(\.[0-9]+)?)$"
)
IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-None-Match",
        max_length=1000,
        description="An `ETag` from an earlier answer: 304 without a body while it is current",
    ),
]
IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        max_length=1000,
        description="The `ETag` you last saw: the change is refused with 412 if the event "
        "changed since",
    ),
]


def etag_of(body: EventOut) -> str:
    return '"' + hashlib.sha256(msgspec.json.encode(body)).hexdigest()[:32] + '"'


def etags_of(view: EventView) -> set[str]:
    """What `If-Match` may name: the caller's own ETag, and the one everybody else is
    given (a manager's Event adds `checked_in_count`, which is no part of what a
    change could lose), so an ETag from an anonymous or cached read works too."""
    return {etag_of(EventOut.of(view)), etag_of(EventOut.of(replace(view, checked_in_count=None)))}


def _matches(header: str | None, etag: str) -> bool:
    if header is None:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in candidates or etag in candidates


def _moment(raw: str | None, field: str, *, end_of_day: bool) -> datetime | None:
    if raw is None:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidValue(field, "must be a date or an RFC 3339 date-time") from None
    if moment.tzinfo is None:
        raise InvalidValue(field, "a date-time needs a UTC offset, e.g. Z or +02:00")
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:  # events never are; and no OverflowError
        raise InvalidValue(field, f"must be in the years {FIRST_YEAR} to {LAST_YEAR}")
    return moment


def _near(raw: str | None) -> Coordinates | None:
    if raw is None:
        return None
    try:
        latitude, longitude = (float(part) for part in raw.split(","))
    except ValueError:
        raise InvalidValue("near", "must be 'latitude,longitude'") from None
    try:
        return Coordinates(latitude, longitude)
    except InvalidValue as exc:
        raise InvalidValue("near", exc.message) from None


class EventsController(Controller):
    path = "/api/v1/events"
    tags = ["events"]

    @get(
        "",
        summary="List and search events",
        description=(
            "Published events for everyone; organizers and admins add `status=draft`.\n\n"
            "`sort=distance` lists the nearest first and needs `near` (with `radius_km`); "
            "whenever `near` is given, each item carries its `distance_km` (to the metre, "
            "rounded down). `include=total` adds `total`: `{value, exact}`, exact up to "
            f"{EXACT_TOTAL_UP_TO:,} matches, and above that an estimate (never "
            f"below {EXACT_TOTAL_UP_TO + 1:,}) with `exact: false`. Without it no counting "
            "is done."
        ),
        security=OPTIONAL_BEARER,
        responses=responses(400, 401, 403, 429),
    )
    async def search(
        self,
        request: Request[Any, Any, Any],
        principal: Principal_,
        search_events: NamedDependency[SearchEvents],
        cursors: NamedDependency[CursorCodec],
        limit: Limit = DEFAULT_PAGE_SIZE,
        cursor: Annotated[str | None, Parameter(max_length=500)] = None,
        q: Annotated[
            str | None, Parameter(max_length=200, pattern=NO_NUL, description=Q_DESCRIPTION)
        ] = None,
        starts_from: DateOrMoment = None,
        starts_to: DateOrMoment = None,
        city: Annotated[
            str | None, Parameter(max_length=100, pattern=NO_NUL, description=CITY_DESCRIPTION)
        ] = None,
        country: Annotated[
            str | None,
            Parameter(max_length=100, pattern=NO_NUL, description=COUNTRY_DESCRIPTION),
        ] = None,
        near: Annotated[
            str | None,
            Parameter(
                max_length=60,
                pattern=NEAR,
                description="`latitude,longitude` in decimal degrees, e.g. `52.52,13.405`",
            ),
        ] = None,
        radius_km: Annotated[
            float | None,
            # Litestar leaves a zero bound out of the document: said here instead.
            Parameter(gt=0, le=20_000, schema_extra={"exclusiveMinimum": 0}),
        ] = None,
        available: FromQuery[bool] = False,
        organizer_id: FromQuery[UUID | None] = None,
        status: FromQuery[Literal["draft", "published", "cancelled"]] = "published",
        sort: Annotated[EventSort, Parameter(description=SORT_DESCRIPTION)] = "starts_at",
        include: Annotated[
            Literal["total"] | None,
            Parameter(description="`total`: count the matches as well (see above)"),
        ] = None,
    ) -> EventPage:
        fingerprint = query_fingerprint(request, "events")
        criteria = EventCriteria(
            text=q.strip() or None if q else None,
            starts_from=_moment(starts_from, "starts_from", end_of_day=False),
            starts_to=_moment(starts_to, "starts_to", end_of_day=True),
            city=city.strip() or None if city else None,
            country=country.strip() or None if country else None,
            near=_near(near),
            radius_km=radius_km,
            available_only=available,
            organizer_id=organizer_id,
            status=EventStatus(status),
            order=EventOrder(sort.removeprefix("-")),
            descending=sort == "-starts_at",
        )
        page = await search_events.execute(
            SearchEventsCommand(
                actor=principal,
                criteria=criteria,
                page=page_request(cursors, limit, cursor, fingerprint),
                include_total=include == "total",
            )
        )
        return EventPage(
            items=[EventListItem.of(view) for view in page.items],
            next_cursor=cursors.encode(page.next, fingerprint) if page.next else None,
            total=TotalOut(page.total.value, page.total.exact) if page.total else UNSET,
        )

    @idempotent
    @post(
        "",
        status_code=201,
        summary="Create an event (organizer, admin); a draft unless status=published",
        security=BEARER,
        guards=[requires_bearer],
        responses=responses(400, 401, 403, 409, 413, 415, 429),
    )
    async def create(
        self,
        data: JSONBody[NewEventIn],
        principal: Principal_,
        create_event: NamedDependency[CreateEvent],
    ) -> Response[EventOut]:
        view = await create_event.execute(
            CreateEventCommand(
                actor=principal,
                title=data.title,
                description=data.description,
                location=data.location.to_input(),
                window=data.window(),
                capacity=data.capacity,
                waitlist_enabled=data.waitlist_enabled,
                status=EventStatus(data.status),
            )
        )
        body = EventOut.of(view)
        return Response(
            body,
            status_code=201,
            headers={"Location": f"/api/v1/events/{view.id}", "ETag": etag_of(body)},
        )

    @get(
        "/{event_id:uuid}",
        summary="One event (drafts only for their managers: owner, co-organizers, admins)",
        security=OPTIONAL_BEARER,
        responses={
            **responses(400, 401, 404, 429),
            304: ResponseSpec(None, description="`If-None-Match` names the current `ETag`."),
        },
    )
    async def get_one(
        self,
        event_id: FromPath[UUID],
        principal: Principal_,
        get_event: NamedDependency[GetEvent],
        if_none_match: IfNoneMatch = None,
    ) -> Response[EventOut]:
        body = EventOut.of(
            await get_event.execute(GetEventCommand(actor=principal, event_id=event_id))
        )
        etag = etag_of(body)
        if _matches(if_none_match, etag):
            return Response(None, status_code=304, headers={"ETag": etag})  # type: ignore[arg-type]
        return Response(body, headers={"ETag": etag})

    @patch(
        "/{event_id:uuid}",
        summary=(
            "Change, publish or cancel an event (owner, co-organizer, admin; cancelling: "
            "owner, admin); honours If-Match"
        ),
        security=BEARER,
        guards=[requires_bearer],
        responses=responses(400, 401, 403, 404, 409, 412, 413, 415, 429),
    )
    async def update(
        self,
        event_id: FromPath[UUID],
        data: JSONBody[EventChangesIn],
        principal: Principal_,
        get_event: NamedDependency[GetEvent],
        update_event: NamedDependency[UpdateEvent],
        if_match: IfMatch = None,
    ) -> Response[EventOut]:
        expected: int | None = None
        if if_match is not None:
            current = await get_event.execute(GetEventCommand(actor=principal, event_id=event_id))
            if not any(_matches(if_match, etag) for etag in etags_of(current)):
                raise PreconditionFailed()
            expected = current.revision  # closes the race between this read and the write
        location = given(data.location)
        status = given(data.status)
        view = await update_event.execute(
            UpdateEventCommand(
                actor=principal,
                event_id=event_id,
                expected_revision=expected,
                title=given(data.title),
                description=given(data.description),
                location=location.to_input() if location is not None else None,
                window=data.window(),
                capacity=given(data.capacity),
                waitlist_enabled=given(data.waitlist_enabled),
                status=EventStatus(status) if status else None,
            )
        )
        body = EventOut.of(view)
        return Response(body, headers={"ETag": etag_of(body)})

    @delete(
        "/{event_id:uuid}",
        status_code=204,
        summary="Delete an event (owner, admin); attendees are notified",
        security=BEARER,
        guards=[requires_bearer],
        responses=responses(400, 401, 403, 404, 429),
    )
    async def delete(
        self,
        event_id: FromPath[UUID],
        principal: Principal_,
        delete_event: NamedDependency[DeleteEvent],
    ) -> None:
        await delete_event.execute(DeleteEventCommand(actor=principal, event_id=event_id))

    @idempotent
    @post(
        "/{event_id:uuid}/cancel",
        status_code=200,
        summary="Cancel a published event for good (owner, admin); attendees are notified",
        security=BEARER,
        guards=[requires_bearer],
        responses=responses(400, 401, 403, 404, 409, 413, 415, 429),
    )
    async def cancel(
        self,
        event_id: FromPath[UUID],
        principal: Principal_,
        cancel_event: NamedDependency[CancelEvent],
        data: JSONBody[CancelIn | None] = None,
    ) -> EventOut:
        reason = data.reason if data is not None else ""
        view = await cancel_event.execute(
            CancelEventCommand(actor=principal, event_id=event_id, reason=reason)
        )
        return EventOut.of(view)

    @get(
        "/{event_id:uuid}/calendar.ics",
        summary="The event as an iCalendar (RFC 5545) entry",
        security=OPTIONAL_BEARER,
        media_type="text/calendar",
        responses=responses(400, 401, 404, 429),
    )
    async def calendar(
        self,
        event_id: FromPath[UUID],
        principal: Principal_,
        get_event: NamedDependency[GetEvent],
        clock: NamedDependency[SkipValidation[Clock]],  # a Protocol: nothing to validate
        public_url: NamedDependency[str],
    ) -> Response[bytes]:
        view: EventView = await get_event.execute(
            GetEventCommand(actor=principal, event_id=event_id)
        )
        url = f"{public_url}/api/v1/events/{view.id}"  # never from the request's Host
        body = event_calendar(view, url=url, now=clock.now())
        return Response(
            body,
            media_type="text/calendar",  # Litestar adds `; charset=utf-8` to text/*
            headers={"Content-Disposition": f'attachment; filename="event-{view.id}.ics"'},
        )

    @post(
        "/{event_id:uuid}/co-organizers",
        status_code=201,
        summary="Add a co-organizer (owner, admin): an active organizer or admin",
        description=(
            "A co-organizer may see the draft, change it (but not cancel it), publish it, "
            "and list, export and remove its attendees. Anyone who is not an active "
            "organizer or admin, an unknown account included, is a 409 "
            "`/problems/not-an-organizer`; so are the owner themself "
            "(`/problems/owner-not-co-organizer`) and a co-organizer already there "
            "(`/problems/already-co-organizer`)."
        ),
        security=BEARER,
        guards=[requires_bearer],
        responses=responses(400, 401, 403, 404, 409, 413, 415, 429),
    )
    async def add_co_organizer(
        self,
        event_id: FromPath[UUID],
        data: JSONBody[NewCoOrganizerIn],
        principal: Principal_,
        add_co_organizer: NamedDependency[AddCoOrganizer],
    ) -> Response[CoOrganizerOut]:
        view = await add_co_organizer.execute(
            CoOrganizerCommand(actor=principal, event_id=event_id, user_id=data.user_id)
        )
        return Response(
            CoOrganizerOut.of(view),
            status_code=201,
            headers={"Location": f"/api/v1/events/{event_id}/co-organizers/{view.user.id}"},
        )

    @get(
        "/{event_id:uuid}/co-organizers",
        summary="The event's co-organizers (owner, co-organizers, admin)",
        security=BEARER,
        guards=[requires_bearer],
        responses=responses(400, 401, 403, 404, 429),
    )
    async def co_organizers(
        self,
        event_id: FromPath[UUID],
        principal: Principal_,
        list_co_organizers: NamedDependency[ListCoOrganizers],
    ) -> CoOrganizerList:
        listed = await list_co_organizers.execute(
            ListCoOrganizersCommand(actor=principal, event_id=event_id)
        )
        return CoOrganizerList(items=[CoOrganizerOut.of(view) for view in listed])

    @http_delete(  # `delete` names the handler above in this class body
        "/{event_id:uuid}/co-organizers/{user_id:uuid}",
        status_code=204,
        summary="Remove a co-organizer (owner, admin); 404 for someone who is not one",
        security=BEARER,
        guards=[requires_bearer],
        responses=responses(400, 401, 403, 404, 429),
    )
    async def remove_co_organizer(
        self,
        event_id: FromPath[UUID],
        user_id: FromPath[UUID],
        principal: Principal_,
        remove_co_organizer: NamedDependency[RemoveCoOrganizer],
    ) -> None:
        await remove_co_organizer.execute(
            CoOrganizerCommand(actor=principal, event_id=event_id, user_id=user_id)
        )
