"""The read side: views, filters and keyset pages, the same on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.ports.queries import (
    EventCriteria,
    EventOrder,
    Page,
    PageRequest,
    Total,
    UserCriteria,
    UserView,
    distance_key,
)
from domain.errors import InvalidValue
from domain.event import Event, EventStatus
from domain.registration import RegistrationStatus
from domain.users import Role, User
from domain.values import Coordinates
from tests.builders import NOW, a_registration, a_user, an_event
from tests.contract.backends import Backend
from tests.contract.test_repositories import store

BERLIN = Coordinates(52.52, 13.405)
POTSDAM = Coordinates(52.3906, 13.0645)  # ~27 km from Berlin
HAMBURG = Coordinates(53.5511, 9.9937)  # ~255 km from Berlin


async def everything(backend: Backend, criteria: EventCriteria, limit: int = 2) -> list[str]:
    """Walk every page of a search; return the ids in the order seen."""
    seen: list[str] = []
    page = await backend.events.search(criteria, PageRequest(limit=limit))
    while True:
        seen.extend(str(view.id) for view in page.items)
        if page.next is None:
            return seen
        page = await backend.events.search(criteria, PageRequest(limit=limit, after=page.next))


@pytest.fixture
async def town(backend: Backend) -> tuple[User, list[Event]]:
    organizer = a_user(role=Role.ORGANIZER, name="Olga Organizer")
    events = [
        an_event(
            organizer, title="Python meetup", starts_at=NOW + timedelta(days=1), coordinates=BERLIN
        ),
        an_event(
            organizer,
            title="Rust evening",
            description="<p>Borrow checker talk</p>",
            starts_at=NOW + timedelta(days=2),
            city="Potsdam",
            coordinates=POTSDAM,
        ),
        an_event(
            organizer,
            title="Data science brunch",
            starts_at=NOW + timedelta(days=3),
            city="Hamburg",
            venue="Harbour hall",
            coordinates=HAMBURG,
            capacity=1,
        ),
        an_event(organizer, title="Secret draft", status=EventStatus.DRAFT),
        an_event(organizer, title="Cancelled party", status=EventStatus.CANCELLED),
    ]
    events[2].attendee_count = 1  # full
    # Same start time as the first event: the id breaks the tie.
    events.append(an_event(organizer, title="Twin meetup", starts_at=NOW + timedelta(days=1)))
    await store(backend, organizer, *events)
    return organizer, events


def ids(*events: Event) -> list[str]:
    return [str(e.id) for e in events]


async def test_an_event_view_carries_the_organizer_and_counts(
    backend: Backend, town: tuple[User, list[Event]]
) -> None:
    organizer, events = town
    view = await backend.events.get(events[2].id)
    assert view is not None
    assert (view.title, view.capacity, view.attendee_count, view.available_seats) == (
        "Data science brunch",
        1,
        1,
        0,
    )
    assert (view.organizer.id, view.organizer.full_name) == (organizer.id, "Olga Organizer")
    assert view.location == events[2].location
    assert (view.starts_at, view.ends_at, view.timezone) == (
        events[2].window.starts_at,
        events[2].window.ends_at,
        "Europe/Berlin",
    )
    assert view.revision == events[2].revision
    assert await backend.events.get(a_user().id) is None


async def test_keyset_pages_walk_every_published_event_once_in_order(
    backend: Backend, town: tuple[User, list[Event]]
) -> None:
    _, e = town
    first_day = sorted([e[0], e[5]], key=lambda ev: ev.id)
    expected = ids(*first_day, e[1], e[2])
    assert await everything(backend, EventCriteria(), limit=1) == expected
    assert await everything(backend, EventCriteria(), limit=3) == expected
    assert await everything(backend, EventCriteria(descending=True), limit=2) == expected[::-1]


async def test_status_filter(backend: Backend, town: tuple[User, list[Event]]) -> None:
    _, e = town
    assert await everything(backend, EventCriteria(status=EventStatus.DRAFT)) == ids(e[3])
    assert await everything(backend, EventCriteria(status=EventStatus.CANCELLED)) == ids(e[4])


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        (EventCriteria(text="python"), [0]),
        (EventCriteria(text="BORROW checker"), [1]),
        (EventCriteria(text="harbour"), [2]),
        (EventCriteria(text="potsdam"), [1]),
        (EventCriteria(text="meetup"), [0, 5]),
        (EventCriteria(text="nothing-like-this"), []),
        (EventCriteria(city="hamburg"), [2]),
        (EventCriteria(country="de"), [0, 5, 1, 2]),
        (EventCriteria(available_only=True), [0, 5, 1]),
        (EventCriteria(starts_from=NOW + timedelta(days=2)), [1, 2]),
        (EventCriteria(starts_to=NOW + timedelta(days=2)), [0, 5, 1]),
        (EventCriteria(near=BERLIN, radius_km=10), [0]),
        (EventCriteria(near=BERLIN, radius_km=50), [0, 1]),
        (EventCriteria(near=BERLIN, radius_km=300), [0, 1, 2]),
    ],
)
async def test_filters(
    backend: Backend, town: tuple[User, list[Event]], criteria: EventCriteria, expected: list[int]
) -> None:
    _, e = town
    found = await everything(backend, criteria, limit=100)
    wanted = [e[i] for i in expected]
    # Events starting at the same moment come in id order.
    wanted.sort(key=lambda ev: (ev.window.starts_at, ev.id))
    assert found == ids(*wanted)


async def test_organizer_filter(backend: Backend, town: tuple[User, list[Event]]) -> None:
    organizer, _ = town
    stranger = a_user(role=Role.ORGANIZER)
    other = an_event(stranger, title="Another organizer's")
    await store(backend, stranger, other)
    assert await everything(backend, EventCriteria(organizer_id=stranger.id)) == ids(other)
    assert len(await everything(backend, EventCriteria(organizer_id=organizer.id))) == 4


async def test_attendees_in_join_order_with_waitlist_positions(backend: Backend) -> None:
    organizer = a_user(role=Role.ORGANIZER)
    guests = [a_user(name=f"Guest {i}") for i in range(5)]
    event = an_event(organizer, capacity=2)
    waiting = RegistrationStatus.WAITLISTED
    regs = [
        a_registration(event, guests[0], at=NOW),
        a_registration(event, guests[1], at=NOW + timedelta(seconds=1)),
        a_registration(event, guests[2], status=waiting, ticket=2, at=NOW + timedelta(seconds=2)),
        a_registration(event, guests[3], status=waiting, ticket=5, at=NOW + timedelta(seconds=3)),
        a_registration(event, guests[4], status=waiting, ticket=9, at=NOW + timedelta(seconds=4)),
    ]
    await store(backend, organizer, *guests, event, *regs)

    page = await backend.registrations.attendees(event.id, None, PageRequest(limit=3))
    rest = await backend.registrations.attendees(
        event.id, None, PageRequest(limit=3, after=page.next)
    )
    rows = page.items + rest.items
    assert [r.id for r in rows] == [r.id for r in regs]
    assert [r.waitlist_position for r in rows] == [None, None, 1, 2, 3]
    assert [r.user.full_name if r.user else None for r in rows] == [f"Guest {i}" for i in range(5)]
    assert rest.next is None

    only_waiting = await backend.registrations.attendees(event.id, waiting, PageRequest())
    assert [r.waitlist_position for r in only_waiting.items] == [1, 2, 3]
    single = await backend.registrations.get(regs[3].id)
    assert single is not None and single.waitlist_position == 2


async def test_a_users_registrations_by_event_start(backend: Backend) -> None:
    organizer, guest = a_user(role=Role.ORGANIZER), a_user()
    later = an_event(organizer, title="Later", starts_at=NOW + timedelta(days=9))
    sooner = an_event(organizer, title="Sooner", starts_at=NOW + timedelta(days=1))
    past = an_event(organizer, title="Past", starts_at=NOW - timedelta(days=1))
    regs = [a_registration(e, guest) for e in (later, sooner, past)]
    regs[0].status = RegistrationStatus.CANCELLED
    await store(backend, organizer, guest, later, sooner, past, *regs)

    everything_ = await backend.registrations.for_user(
        guest.id, starting_after=None, page=PageRequest()
    )
    assert [r.event.title if r.event else None for r in everything_.items] == [
        "Past",
        "Sooner",
        "Later",
    ]
    assert everything_.items[2].status is RegistrationStatus.CANCELLED
    upcoming = await backend.registrations.for_user(
        guest.id, starting_after=NOW, page=PageRequest(limit=1)
    )
    assert [r.event_id for r in upcoming.items] == [sooner.id]
    more = await backend.registrations.for_user(
        guest.id, starting_after=NOW, page=PageRequest(limit=1, after=upcoming.next)
    )
    assert [r.event_id for r in more.items] == [later.id]
    assert more.next is None


async def test_users_are_searched_and_paged_by_id(backend: Backend) -> None:
    users = [
        a_user(email="ada@example.org", name="Ada Lovelace", role=Role.ADMIN),
        a_user(email="grace@example.org", name="Grace Hopper", role=Role.ORGANIZER),
        a_user(email="alan@example.org", name="Alan Turing"),
    ]
    users[2].is_active = False
    await store(backend, *users)

    async def found(criteria: UserCriteria) -> list[str]:
        page: Page[UserView] = await backend.users.search(criteria, PageRequest(limit=1))
        emails = [u.email for u in page.items]
        while page.next is not None:
            page = await backend.users.search(criteria, PageRequest(limit=1, after=page.next))
            emails += [u.email for u in page.items]
        return emails

    assert await found(UserCriteria()) == [str(u.email) for u in users]
    assert await found(UserCriteria(role=Role.ORGANIZER)) == ["grace@example.org"]
    assert await found(UserCriteria(is_active=False)) == ["alan@example.org"]
    assert await found(UserCriteria(text="HOPPER")) == ["grace@example.org"]
    assert await found(UserCriteria(text="a@ex")) == ["ada@example.org"]
    view = await backend.users.get(users[0].id)
    assert view is not None and (view.email, view.role, view.is_active) == (
        "ada@example.org",
        Role.ADMIN,
        True,
    )


async def test_cancelled_registrations_are_never_listed_as_attendees(backend: Backend) -> None:
    organizer, guest, other = a_user(role=Role.ORGANIZER), a_user(), a_user()
    event = an_event(organizer)
    kept = a_registration(event, guest)
    gone = a_registration(event, other, status=RegistrationStatus.CANCELLED)
    await store(backend, organizer, guest, other, event, kept, gone)
    cancelled = RegistrationStatus.CANCELLED
    assert (await backend.registrations.attendees(event.id, cancelled, PageRequest())).items == []
    everyone = await backend.registrations.attendees(event.id, None, PageRequest())
    assert [r.id for r in everyone.items] == [kept.id]


@pytest.fixture
async def around_berlin(backend: Backend) -> list[Event]:
    """Events at known distances from BERLIN: two at one spot, two less than a metre
    apart (the same whole metre, so the id decides), one out of reach, one nowhere."""
    organizer = a_user(role=Role.ORGANIZER)
    north = Coordinates(BERLIN.latitude + 0.01, BERLIN.longitude)  # ~1.1 km
    events = [
        an_event(organizer, title="Potsdam", coordinates=POTSDAM, starts_at=NOW + timedelta(1)),
        an_event(organizer, title="North A", coordinates=north, starts_at=NOW + timedelta(2)),
        an_event(organizer, title="Centre", coordinates=BERLIN, starts_at=NOW + timedelta(3)),
        an_event(organizer, title="North B", coordinates=north, starts_at=NOW + timedelta(4)),
        an_event(
            organizer,
            title="North, a hair further",
            coordinates=Coordinates(north.latitude + 0.000001, north.longitude),
            starts_at=NOW + timedelta(5),
        ),
        an_event(organizer, title="Hamburg", coordinates=HAMBURG, starts_at=NOW + timedelta(6)),
        an_event(organizer, title="Nowhere", starts_at=NOW + timedelta(7)),
    ]
    await store(backend, organizer, *events)
    return events


def nearest_first(events: list[Event], origin: Coordinates) -> list[Event]:
    def key(event: Event) -> tuple[int, str]:
        assert event.location.coordinates is not None
        return distance_key(origin.distance_km(event.location.coordinates)), str(event.id)

    return sorted(events, key=key)


@pytest.mark.parametrize("limit", [1, 2, 3, 100])
async def test_sort_by_distance_pages_nearest_first(
    backend: Backend, around_berlin: list[Event], limit: int
) -> None:
    criteria = EventCriteria(near=BERLIN, radius_km=100, order=EventOrder.DISTANCE)
    expected = nearest_first(around_berlin[:5], BERLIN)
    # Sanity: the three "north" events share a whole metre, so ids break the tie.
    assert [e.title for e in expected][:1] == ["Centre"]
    assert [e.title for e in expected][-1] == "Potsdam"

    assert await everything(backend, criteria, limit=limit) == ids(*expected)
    backwards = EventCriteria(
        near=BERLIN, radius_km=100, order=EventOrder.DISTANCE, descending=True
    )
    assert await everything(backend, backwards, limit=limit) == ids(*expected[::-1])


async def test_each_item_carries_its_distance_when_near_is_given(
    backend: Backend, around_berlin: list[Event]
) -> None:
    by_id = {e.id: e for e in around_berlin}
    for order in EventOrder:
        criteria = EventCriteria(near=BERLIN, radius_km=30, order=order)
        page = await backend.events.search(criteria, PageRequest(limit=100))
        assert len(page.items) == 5
        for view in page.items:
            point = by_id[view.id].location.coordinates
            assert point is not None
            assert view.distance_km == distance_key(BERLIN.distance_km(point)) / 1000
    potsdam = next(v for v in page.items if v.title == "Potsdam")
    assert potsdam.distance_km is not None and 26 < potsdam.distance_km < 28
    centre = next(v for v in page.items if v.title == "Centre")
    assert centre.distance_km == 0.0
    plain = await backend.events.search(EventCriteria(), PageRequest(limit=100))
    assert {view.distance_km for view in plain.items} == {None}


async def test_a_cursor_of_another_order_is_refused(
    backend: Backend, around_berlin: list[Event]
) -> None:
    by_distance = EventCriteria(near=BERLIN, radius_km=100, order=EventOrder.DISTANCE)
    by_start = EventCriteria(near=BERLIN, radius_km=100)
    distance_page = await backend.events.search(by_distance, PageRequest(limit=1))
    start_page = await backend.events.search(by_start, PageRequest(limit=1))
    assert distance_page.next is not None and start_page.next is not None
    assert isinstance(distance_page.next.sort_value, int)

    with pytest.raises(InvalidValue) as refused:
        await backend.events.search(by_start, PageRequest(after=distance_page.next))
    assert refused.value.field == "cursor"
    with pytest.raises(InvalidValue) as refused:
        await backend.events.search(by_distance, PageRequest(after=start_page.next))
    assert refused.value.field == "cursor"


@pytest.mark.parametrize(
    ("criteria", "matching"),
    [
        (EventCriteria(), 7),
        (EventCriteria(near=BERLIN, radius_km=30), 5),
        (EventCriteria(near=BERLIN, radius_km=30, order=EventOrder.DISTANCE), 5),
        (EventCriteria(text="north"), 3),
        (EventCriteria(status=EventStatus.DRAFT), 0),
    ],
)
async def test_totals_are_exact_up_to_the_limit_then_flagged_estimates(
    backend: Backend, around_berlin: list[Event], criteria: EventCriteria, matching: int
) -> None:
    assert await backend.events.count(criteria, exact_up_to=100) == Total(matching, exact=True)
    assert await backend.events.count(criteria, exact_up_to=matching) == Total(matching, exact=True)
    if matching:
        estimate = await backend.events.count(criteria, exact_up_to=matching - 1)
        assert estimate.exact is False
        assert estimate.value >= matching  # never below the limit + 1
