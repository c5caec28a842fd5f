from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import UNSET, Meta, Struct, UnsetType, field

from application.event_input import LocationInput, WindowInput
from application.ports.queries import CoOrganizerView, EventView, PersonSummary
from domain.event import MAX_CANCEL_REASON, MAX_DESCRIPTION, MAX_TITLE
from domain.values import LOCATION_LIMITS, MAX_CAPACITY, MAX_LATITUDE, MAX_LONGITUDE
from entrypoints.http.schemas.common import NOT_BLANK, PRINTABLE, given

StatusName = Literal["draft", "published", "cancelled"]
Title = Annotated[
    str,
    Meta(min_length=1, max_length=MAX_TITLE, pattern=NOT_BLANK, examples=["PyData Berlin meetup"]),
]
Description = Annotated[str, Meta(max_length=MAX_DESCRIPTION)]
Moment = Annotated[datetime, Meta(tz=True, examples=["2030-05-01T18:00:00Z"])]
TimeZoneName = Annotated[str, Meta(min_length=1, max_length=64, examples=["Europe/Berlin"])]
CapacityValue = Annotated[int, Meta(ge=1, le=MAX_CAPACITY)]
Latitude = Annotated[float, Meta(ge=-MAX_LATITUDE, le=MAX_LATITUDE)]
Longitude = Annotated[float, Meta(ge=-MAX_LONGITUDE, le=MAX_LONGITUDE)]


def _place(name: str) -> Meta:
    return Meta(max_length=LOCATION_LIMITS[name], pattern=PRINTABLE)


class LocationIn(Struct, forbid_unknown_fields=True, frozen=True):
    venue: (
        Annotated[str, Meta(max_length=LOCATION_LIMITS["venue"], pattern=PRINTABLE)] | UnsetType
    ) = UNSET
    address: (
        Annotated[str, Meta(max_length=LOCATION_LIMITS["address"], pattern=PRINTABLE)] | UnsetType
    ) = UNSET
    city: (
        Annotated[str, Meta(max_length=LOCATION_LIMITS["city"], pattern=PRINTABLE)] | UnsetType
    ) = UNSET
    country: (
        Annotated[str, Meta(max_length=LOCATION_LIMITS["country"], pattern=PRINTABLE)] | UnsetType
    ) = UNSET
    latitude: Latitude | UnsetType = UNSET
    longitude: Longitude | UnsetType = UNSET

    def to_input(self) -> LocationInput:
        return LocationInput(
            venue=given(self.venue),
            address=given(self.address),
            city=given(self.city),
            country=given(self.country),
            latitude=given(self.latitude),
            longitude=given(self.longitude),
        )


class NewEventIn(Struct, forbid_unknown_fields=True, frozen=True):
    title: Title
    starts_at: Moment
    ends_at: Moment
    capacity: CapacityValue
    timezone: TimeZoneName = "UTC"
    description: Description = ""
    location: LocationIn = field(default_factory=LocationIn)
    waitlist_enabled: bool = False
    status: Literal["draft", "published"] = "draft"

    def window(self) -> WindowInput:
        return WindowInput(starts_at=self.starts_at, ends_at=self.ends_at, timezone=self.timezone)


class EventChangesIn(Struct, forbid_unknown_fields=True, frozen=True):
    title: Title | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    location: LocationIn | UnsetType = UNSET
    starts_at: Moment | UnsetType = UNSET
    ends_at: Moment | UnsetType = UNSET
    timezone: TimeZoneName | UnsetType = UNSET
    capacity: CapacityValue | UnsetType = UNSET
    waitlist_enabled: bool | UnsetType = UNSET
    status: StatusName | UnsetType = UNSET

    def window(self) -> WindowInput:
        return WindowInput(
            starts_at=given(self.starts_at),
            ends_at=given(self.ends_at),
            timezone=given(self.timezone),
        )


class CancelIn(Struct, forbid_unknown_fields=True, frozen=True):
    reason: Annotated[str, Meta(max_length=MAX_CANCEL_REASON, pattern=PRINTABLE)] = ""


class LocationOut(Struct, frozen=True):
    venue: str
    address: str
    city: str
    country: str
    latitude: float | None
    longitude: float | None


class PersonOut(Struct, frozen=True):
    id: UUID
    full_name: str

    @classmethod
    def of(cls, person: PersonSummary) -> PersonOut:
        return cls(id=person.id, full_name=person.full_name)


class EventOut(Struct, frozen=True):
    id: UUID
    title: str
    description: str
    location: LocationOut
    starts_at: datetime
    ends_at: datetime
    timezone: str
    capacity: int
    attendee_count: int
    available_seats: int
    waitlist_enabled: bool
    waitlist_count: int
    status: StatusName
    organizer: PersonOut
    created_at: datetime
    updated_at: datetime
    checked_in_count: (
        Annotated[
            int,
            Meta(
                ge=0,
                description="How many tickets were checked in. Only for the event's managers "
                "(owner, co-organizers, admins) reading one event; absent for everyone else "
                "and in listings",
            ),
        ]
        | UnsetType
    ) = UNSET

    @classmethod
    def of(cls, view: EventView) -> EventOut:
        loc, point = view.location, view.location.coordinates
        return cls(
            id=view.id,
            title=view.title,
            description=view.description,
            location=LocationOut(
                venue=loc.venue,
                address=loc.address,
                city=loc.city,
                country=loc.country,
                latitude=point.latitude if point else None,
                longitude=point.longitude if point else None,
            ),
            starts_at=view.starts_at,
            ends_at=view.ends_at,
            timezone=view.timezone,
            capacity=view.capacity,
            attendee_count=view.attendee_count,
            available_seats=view.available_seats,
            waitlist_enabled=view.waitlist_enabled,
            waitlist_count=view.waitlist_count,
            status=view.status.value,
            organizer=PersonOut.of(view.organizer),
            created_at=view.created_at,
            updated_at=view.updated_at,
            checked_in_count=UNSET if view.checked_in_count is None else view.checked_in_count,
        )


class EventListItem(EventOut, frozen=True):
    """An event in a listing: with `near`, also how far it is from there."""

    distance_km: (
        Annotated[float, Meta(ge=0, description="From `near`, in km, rounded down to the metre")]
        | UnsetType
    ) = UNSET

    @classmethod
    def of(cls, view: EventView) -> EventListItem:
        base = EventOut.of(view)
        fields = {name: getattr(base, name) for name in base.__struct_fields__}
        if view.distance_km is not None:
            fields["distance_km"] = view.distance_km
        return cls(**fields)


class TotalOut(Struct, frozen=True):
    """How many events match (`include=total`)."""

    value: Annotated[int, Meta(ge=0)]
    #: False above the exact limit: `value` is then an estimate.
    exact: Annotated[bool, Meta(description="False when `value` is an estimate")]


class EventPage(Struct, frozen=True):
    items: list[EventListItem]
    next_cursor: str | None
    #: Only with `include=total`.
    total: TotalOut | UnsetType = UNSET


class NewCoOrganizerIn(Struct, forbid_unknown_fields=True, frozen=True):
    user_id: Annotated[UUID, Meta(description="An active organizer or admin")]


class CoOrganizerOut(Struct, frozen=True):
    user: PersonOut
    added_at: datetime

    @classmethod
    def of(cls, view: CoOrganizerView) -> CoOrganizerOut:
        return cls(user=PersonOut.of(view.user), added_at=view.added_at)


class CoOrganizerList(Struct, frozen=True):
    """Every co-organizer, in the order they were added (not paged: an event has few)."""

    items: list[CoOrganizerOut]
