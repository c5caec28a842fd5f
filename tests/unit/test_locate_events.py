"""LocateEvents on the memory adapters: coordinates arrive after the save, only
for the address that was asked about, and a failing service fails nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from adapters.memory.delivery import MemoryEventLocations
from adapters.memory.fakes import TableGeocoder
from application.event_input import LocationInput
from application.ports.geocoder import Geocoder, GeocoderUnavailable
from application.ports.queries import EventCriteria, EventView
from application.principal import Principal
from application.use_cases.locate_events import LocateEvents
from application.use_cases.update_event import UpdateEventCommand
from domain.users import Role
from domain.values import Coordinates
from tests.unit.people import person
from tests.unit.world import World

C_BASE = Coordinates(52.5130, 13.4200)
ADDRESS = "Rungestraße 20, Berlin, DE"


@dataclass
class DownGeocoder(Geocoder):
    asked: list[str] = field(default_factory=list)

    async def locate(self, address: str) -> Coordinates | None:
        self.asked.append(address)
        raise GeocoderUnavailable("HTTP 503")


def locating(
    world: World, geocoder: Geocoder, locations: MemoryEventLocations | None = None
) -> LocateEvents:
    return LocateEvents(
        locations or MemoryEventLocations(world.store),
        geocoder,
        world.uow,
        world.clock,
        retry_after=timedelta(minutes=15),
    )


async def event_at(
    world: World, organizer: Principal, address: str = "Rungestraße 20"
) -> EventView:
    view = await world.event(organizer)
    await world.update_event.execute(
        UpdateEventCommand(
            actor=organizer, event_id=view.id, location=LocationInput(address=address)
        )
    )
    return view


async def current(world: World, event: EventView) -> EventView:
    view = await world.event_queries.get(event.id)
    assert view is not None
    return view


async def test_an_address_gets_its_coordinates_and_the_search_finds_the_event(
    world: World,
) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await event_at(world, organizer)
    before = await current(world, event)
    queued = len(world.outbox())
    geocoder = TableGeocoder(places={ADDRESS: C_BASE})

    report = await locating(world, geocoder).execute()

    assert (report.tried, report.located) == (1, 1)
    after = await current(world, event)
    assert after.location.coordinates == C_BASE
    assert after.revision == before.revision + 1
    assert after.sequence == before.sequence  # not a change of place: no new invite
    assert len(world.outbox()) == queued  # and nobody is told
    near = await world.event_queries.search(
        EventCriteria(near=Coordinates(52.52, 13.40), radius_km=5), world.page()
    )
    assert [v.id for v in near.items] == [event.id]
    assert (await locating(world, geocoder).execute()).tried == 0
    assert geocoder.asked == [ADDRESS]


async def test_an_unknown_address_is_not_asked_again_until_it_changes(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await event_at(world, organizer, address="Nowhere 1")
    geocoder = TableGeocoder(places={ADDRESS: C_BASE})
    use_case = locating(world, geocoder)

    assert (await use_case.execute()).located == 0
    assert (await use_case.execute()).tried == 0

    await world.update_event.execute(
        UpdateEventCommand(
            actor=organizer, event_id=event.id, location=LocationInput(address="Rungestraße 20")
        )
    )
    assert (await use_case.execute()).located == 1
    assert (await current(world, event)).location.coordinates == C_BASE


async def test_a_failing_service_is_asked_again_after_a_pause(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await event_at(world, organizer)
    await event_at(world, organizer, address="Other street 2")
    down = DownGeocoder()
    locations = MemoryEventLocations(world.store)
    use_case = locating(world, down, locations)

    report = await use_case.execute()
    assert report.unavailable and report.tried == 1  # the batch stops at the first failure
    assert (await current(world, event)).location.coordinates is None

    # The second event was never tried; the failed one waits for its retry.
    assert (await use_case.execute()).tried == 1
    assert (await use_case.execute()).tried == 0
    world.clock.advance(timedelta(minutes=15))
    up = locating(world, TableGeocoder(places={ADDRESS: C_BASE}), locations)
    assert (await up.execute()).located == 1
    assert down.asked == [ADDRESS, "Other street 2, Berlin, DE"]
    assert (await current(world, event)).location.coordinates == C_BASE


async def test_the_answer_is_dropped_when_the_address_changed_meanwhile(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await event_at(world, organizer)

    @dataclass
    class RacingGeocoder(Geocoder):
        async def locate(self, address: str) -> Coordinates | None:
            await world.update_event.execute(
                UpdateEventCommand(
                    actor=organizer,
                    event_id=event.id,
                    location=LocationInput(address="Elsewhere 9"),
                )
            )
            return C_BASE

    report = await locating(world, RacingGeocoder()).execute()

    assert report.located == 0
    after = await current(world, event)
    assert after.location.address == "Elsewhere 9"
    assert after.location.coordinates is None


async def test_coordinates_an_organizer_gave_are_kept(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await event_at(world, organizer)
    given = Coordinates(1.0, 2.0)
    await world.update_event.execute(
        UpdateEventCommand(
            actor=organizer,
            event_id=event.id,
            location=LocationInput(latitude=given.latitude, longitude=given.longitude),
        )
    )
    geocoder = TableGeocoder(places={ADDRESS: C_BASE})

    assert (await locating(world, geocoder).execute()).tried == 0
    assert (await current(world, event)).location.coordinates == given
