"""Geocoding after the save, on SQLite and PostgreSQL: creating an event never
waits for (or fails with) the geocoder; the worker fills in the coordinates,
and the distance search finds the event by them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.geocoding.nominatim import NominatimGeocoder
from adapters.geocoding.rate_gate import RateGate
from adapters.html_sanitizer import Nh3Sanitizer
from adapters.memory.fakes import FixedClock
from adapters.sql.event_locations import SqlEventLocations
from adapters.sql.event_queries import SqlEventQueries
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from adapters.uuid7 import Uuid7Generator
from application.event_input import LocationInput, WindowInput
from application.ports.queries import EventCriteria, PageRequest
from application.principal import Principal
from application.use_cases.create_event import CreateEvent, CreateEventCommand
from application.use_cases.locate_events import LocateEvents
from application.use_cases.update_event import UpdateEvent, UpdateEventCommand
from domain.event import EventStatus
from domain.users import Role
from domain.values import Coordinates
from tests.builders import a_user
from tests.geocoding_server import NOMINATIM_PATH, Answer, GeocodingServer, nominatim_place

C_BASE = Coordinates(52.5129982, 13.4200658)
NEAR_ALEX = Coordinates(52.5219, 13.4132)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> AsyncEngine:
    found: AsyncEngine = request.getfixturevalue(f"{request.param}_engine")
    return found


@pytest.fixture
def service() -> Iterator[GeocodingServer]:
    server = GeocodingServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


async def test_coordinates_arrive_after_the_save_and_the_search_uses_them(
    engine: AsyncEngine, service: GeocodingServer
) -> None:
    service.answers[NOMINATIM_PATH] = Answer(status=503, body=b"down")  # down at first
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    uow, queries, ids = SqlUnitOfWorkFactory(engine), SqlEventQueries(engine), Uuid7Generator()
    organizer = a_user(role=Role.ORGANIZER)
    async with uow() as work:
        await work.users.add(organizer)
        await work.commit()
    actor = Principal(user_id=organizer.id, role=Role.ORGANIZER)
    starts_at = clock.now() + timedelta(days=3)

    created = await CreateEvent(uow, queries, Nh3Sanitizer(), clock, ids).execute(
        CreateEventCommand(
            actor=actor,
            title="Hack night",
            window=WindowInput(starts_at=starts_at, ends_at=starts_at + timedelta(hours=3)),
            capacity=20,
            location=LocationInput(
                venue="c-base", address="Rungestraße 20", city="Berlin", country="DE"
            ),
            status=EventStatus.PUBLISHED,
        )
    )
    assert created.location.coordinates is None  # the request did not wait for anyone
    assert service.requests == []

    geocoder = NominatimGeocoder(
        user_agent="eventapi/test", base_url=service.url, gate=RateGate(0.0)
    )
    locate = LocateEvents(SqlEventLocations(engine), geocoder, uow, clock)
    near = EventCriteria(near=NEAR_ALEX, radius_km=3)
    try:
        failed = await locate.execute()
        assert failed.unavailable
        assert (await queries.search(near, PageRequest())).items == []

        service.answers[NOMINATIM_PATH] = nominatim_place(C_BASE.latitude, C_BASE.longitude)
        assert (await locate.execute()).tried == 0, "a failed try waits for its retry time"
        clock.advance(timedelta(minutes=15))
        assert (await locate.execute()).located == 1

        found = await queries.search(near, PageRequest())
        assert [view.id for view in found.items] == [created.id]
        assert found.items[0].location.coordinates == C_BASE
        assert found.items[0].revision == created.revision + 1

        # A new address is looked up again; the old coordinates do not linger.
        await UpdateEvent(uow, queries, Nh3Sanitizer(), clock).execute(
            UpdateEventCommand(
                actor=actor,
                event_id=created.id,
                location=LocationInput(address="Karl-Marx-Allee 1"),
            )
        )
        moved = await queries.get(created.id)
        assert moved is not None and moved.location.coordinates is None
        service.answers[NOMINATIM_PATH] = nominatim_place(NEAR_ALEX.latitude, NEAR_ALEX.longitude)
        assert (await locate.execute()).located == 1
        relocated = await queries.get(created.id)
        assert relocated is not None and relocated.location.coordinates == NEAR_ALEX
    finally:
        await geocoder.aclose()

    asked = [request.query["q"] for request in service.requests_to(NOMINATIM_PATH)]
    assert asked == [
        "Rungestraße 20, Berlin, DE",
        "Rungestraße 20, Berlin, DE",
        "Karl-Marx-Allee 1, Berlin, DE",
    ]
