"""The seat invariant under real concurrency: many joins at once, through two
separate engines (two connection pools, as two server processes would have),
using the real use case and the SQL unit of work.

Exact outcomes, no tolerance: never more confirmed than the capacity, waitlist
positions 1..n without gaps, one registration per user.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.fakes import FixedClock
from adapters.sql.engine import create_database_engine
from adapters.sql.registration_queries import SqlRegistrationQueries
from adapters.sql.tables import registrations
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from adapters.uuid7 import Uuid7Generator
from application.ports.queries import PageRequest, RegistrationView
from application.principal import Principal
from application.use_cases.leave_event import LeaveEvent, LeaveEventCommand
from application.use_cases.register_for_event import RegisterForEvent, RegisterForEventCommand
from domain.errors import AlreadyRegistered, EventFull
from domain.event import Event
from domain.registration import RegistrationStatus
from domain.users import Role, User
from tests.builders import NOW, a_user, an_event

CAPACITY = 50
JOINERS = 200
pytestmark = pytest.mark.parametrize(
    "database",
    [
        *(
            pytest.param("postgres", id=f"postgres-{n}", marks=pytest.mark.postgres)
            for n in range(5)
        ),
        pytest.param("sqlite", id="sqlite"),
    ],
)


@pytest.fixture
def first_engine(database: str, request: pytest.FixtureRequest) -> AsyncEngine:
    engine: AsyncEngine = request.getfixturevalue(f"{database}_engine")
    return engine


@pytest.fixture
async def engines(first_engine: AsyncEngine) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two engines on one empty database: the fixture's and a second, separate pool."""
    first = first_engine
    second = create_database_engine(first.url, pool_size=10, max_overflow=10)
    try:
        yield first, second
    finally:
        await second.dispose()


async def scene(engine: AsyncEngine, *, waitlist: bool, joiners: int) -> tuple[Event, list[User]]:
    organizer = a_user(role=Role.ORGANIZER)
    event = an_event(organizer, capacity=CAPACITY, waitlist=waitlist)
    users = [a_user() for _ in range(joiners)]
    async with SqlUnitOfWorkFactory(engine)() as uow:
        for user in (organizer, *users):
            await uow.users.add(user)
        await uow.events.add(event)
        await uow.commit()
    return event, users


def use_cases(engines: tuple[AsyncEngine, AsyncEngine]) -> list[RegisterForEvent]:
    clock, ids = FixedClock(NOW + timedelta(hours=1)), Uuid7Generator()
    return [RegisterForEvent(SqlUnitOfWorkFactory(engine), clock, ids) for engine in engines]


async def join_all(
    engines: tuple[AsyncEngine, AsyncEngine], event: Event, user_ids: list[UUID]
) -> list[RegistrationView | BaseException]:
    """Every join at once, alternating between the two engines."""
    registers = use_cases(engines)
    joins = [
        registers[i % 2].execute(
            RegisterForEventCommand(
                actor=Principal(user_id=user_id, role=Role.ATTENDEE), event_id=event.id
            )
        )
        for i, user_id in enumerate(user_ids)
    ]
    return await asyncio.gather(*joins, return_exceptions=True)


async def all_attendees(engine: AsyncEngine, event: Event) -> list[RegistrationView]:
    queries = SqlRegistrationQueries(engine)
    page = await queries.attendees(event.id, None, PageRequest(limit=100))
    rows = list(page.items)
    while page.next is not None:
        page = await queries.attendees(event.id, None, PageRequest(limit=100, after=page.next))
        rows += page.items
    return rows


async def stored_event(engine: AsyncEngine, event_id: UUID) -> Event:
    async with SqlUnitOfWorkFactory(engine)() as uow:
        stored = await uow.events.get(event_id)
    assert stored is not None
    return stored


async def test_joins_fill_the_seats_then_the_waitlist_in_order(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    event, users = await scene(engines[0], waitlist=True, joiners=JOINERS)

    results = await join_all(engines, event, [user.id for user in users])

    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    views = [r for r in results if isinstance(r, RegistrationView)]
    assert Counter(view.status for view in views) == {
        RegistrationStatus.CONFIRMED: CAPACITY,
        RegistrationStatus.WAITLISTED: JOINERS - CAPACITY,
    }
    # Each joiner was told a distinct place in line.
    told = sorted(v.waitlist_position or 0 for v in views if v.waitlist_position is not None)
    assert told == list(range(1, JOINERS - CAPACITY + 1))

    attendees = await all_attendees(engines[1], event)
    assert len(attendees) == JOINERS
    assert len({row.user_id for row in attendees}) == JOINERS
    confirmed = [row for row in attendees if row.status is RegistrationStatus.CONFIRMED]
    waiting = [row for row in attendees if row.status is RegistrationStatus.WAITLISTED]
    assert len(confirmed) == CAPACITY
    assert sorted(row.waitlist_position or 0 for row in waiting) == list(
        range(1, JOINERS - CAPACITY + 1)
    )
    # The position a joiner was told is the one the listing shows.
    told_by_id = {view.id: view.waitlist_position for view in views}
    assert all(told_by_id[row.id] == row.waitlist_position for row in attendees)

    stored = await stored_event(engines[0], event.id)
    assert (stored.attendee_count, stored.waitlist_count) == (CAPACITY, JOINERS - CAPACITY)
    assert stored.tickets_issued == JOINERS - CAPACITY


async def test_without_a_waitlist_the_rest_are_refused(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    event, users = await scene(engines[0], waitlist=False, joiners=JOINERS)

    results = await join_all(engines, event, [user.id for user in users])

    assert Counter(type(r).__name__ for r in results) == {
        "RegistrationView": CAPACITY,
        "EventFull": JOINERS - CAPACITY,
    }
    assert all(isinstance(r, RegistrationView | EventFull) for r in results)
    attendees = await all_attendees(engines[1], event)
    assert [row.status for row in attendees] == [RegistrationStatus.CONFIRMED] * CAPACITY
    stored = await stored_event(engines[0], event.id)
    assert (stored.attendee_count, stored.waitlist_count) == (CAPACITY, 0)


async def test_the_same_user_joining_many_times_at_once_holds_one_registration(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    event, (user,) = await scene(engines[0], waitlist=True, joiners=1)

    results = await join_all(engines, event, [user.id] * 20)

    assert sum(isinstance(r, RegistrationView) for r in results) == 1
    assert sum(isinstance(r, AlreadyRegistered) for r in results) == 19
    async with engines[1].connect() as connection:
        count = await connection.scalar(
            select(func.count()).where(registrations.c.event_id == event.id)
        )
    assert count == 1
    stored = await stored_event(engines[0], event.id)
    assert (stored.attendee_count, stored.waitlist_count) == (1, 0)


async def test_leaves_and_joins_at_once_keep_the_waitlist_fifo_and_contiguous(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """50 seated + 50 waiting; then 30 seated people leave while 50 newcomers
    join, all at once. The 30 freed seats go to the 30 longest-waiting people,
    never to a newcomer, and the waitlist stays 1..n in ticket order."""
    leavers_count, newcomers_count = 30, 50
    event, users = await scene(engines[0], waitlist=True, joiners=2 * CAPACITY + newcomers_count)
    first, newcomers = users[: 2 * CAPACITY], users[2 * CAPACITY :]
    initial = await join_all(engines, event, [user.id for user in first])
    initial_views = [r for r in initial if isinstance(r, RegistrationView)]
    assert len(initial_views) == 2 * CAPACITY
    seated = [v.user_id for v in initial_views if v.status is RegistrationStatus.CONFIRMED]
    queue = sorted(
        (v for v in initial_views if v.status is RegistrationStatus.WAITLISTED),
        key=lambda v: v.waitlist_position or 0,
    )

    clock = FixedClock(NOW + timedelta(hours=1))
    leaves = [LeaveEvent(SqlUnitOfWorkFactory(engine), clock) for engine in engines]
    registers = use_cases(engines)
    actions = [
        leaves[i % 2].execute(
            LeaveEventCommand(
                actor=Principal(user_id=user_id, role=Role.ATTENDEE), event_id=event.id
            )
        )
        for i, user_id in enumerate(seated[:leavers_count])
    ] + [
        registers[i % 2].execute(
            RegisterForEventCommand(
                actor=Principal(user_id=user.id, role=Role.ATTENDEE), event_id=event.id
            )
        )
        for i, user in enumerate(newcomers)
    ]
    results = await asyncio.gather(*actions, return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []

    attendees = await all_attendees(engines[1], event)
    confirmed = {row.user_id for row in attendees if row.status is RegistrationStatus.CONFIRMED}
    waiting = sorted(
        (row for row in attendees if row.status is RegistrationStatus.WAITLISTED),
        key=lambda row: row.waitlist_position or 0,
    )
    promoted = {v.user_id for v in queue[:leavers_count]}
    assert len(confirmed) == CAPACITY
    assert promoted <= confirmed
    assert confirmed.isdisjoint({user.id for user in newcomers})
    assert [row.waitlist_position for row in waiting] == list(range(1, len(waiting) + 1))
    # Those still waiting from before stay ahead of every newcomer, in their order.
    still_waiting = [v.user_id for v in queue[leavers_count:]]
    assert [row.user_id for row in waiting[: len(still_waiting)]] == still_waiting
    assert {row.user_id for row in waiting[len(still_waiting) :]} == {u.id for u in newcomers}
    stored = await stored_event(engines[0], event.id)
    assert (stored.attendee_count, stored.waitlist_count) == (CAPACITY, len(waiting))
