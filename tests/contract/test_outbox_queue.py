"""The worker's ports (OutboxQueue, EventLocations) behave alike on memory, SQLite
and PostgreSQL: leases, fencing, retries, dead letters, and which events wait
for coordinates."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.delivery import MemoryEventLocations, MemoryOutboxQueue
from adapters.memory.state import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWorkFactory
from adapters.sql.event_locations import SqlEventLocations
from adapters.sql.outbox_queue import SqlOutboxQueue
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from application.ports.delivery import OutboxQueue
from application.ports.geocoder import AddressToLocate, EventLocations
from application.ports.notifications import Notification, NotificationKind
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.event import Event, EventStatus
from domain.users import User
from domain.values import Coordinates, Location
from tests.builders import NOW, a_user, an_event, new_id

LEASE = timedelta(minutes=5)
MAX = 3


@dataclass(frozen=True)
class Worker:
    uow: UnitOfWorkFactory
    queue: OutboxQueue
    locations: EventLocations


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def worker(request: pytest.FixtureRequest) -> Worker:
    if request.param == "memory":
        store = MemoryStore()
        return Worker(
            MemoryUnitOfWorkFactory(store), MemoryOutboxQueue(store), MemoryEventLocations(store)
        )
    engine: AsyncEngine = request.getfixturevalue(f"{request.param}_engine")
    return Worker(SqlUnitOfWorkFactory(engine), SqlOutboxQueue(engine), SqlEventLocations(engine))


async def queued(worker: Worker, count: int) -> list[Notification]:
    """`count` welcome notes for one user, committed in row order."""
    user = a_user()
    notes = [
        Notification(
            cause_id=new_id(),
            kind=NotificationKind.WELCOME,
            recipient_id=user.id,
            created_at=NOW + timedelta(seconds=i),
        )
        for i in range(count)
    ]
    async with worker.uow() as uow:
        await uow.users.add(user)
        for note in notes:
            await uow.outbox.add(note)
        await uow.commit()
    return notes


async def test_claims_are_disjoint_oldest_first_and_come_back_after_the_lease(
    worker: Worker,
) -> None:
    notes = await queued(worker, 5)
    at = NOW + timedelta(minutes=1)
    first = await worker.queue.claim(limit=3, now=at, lease=LEASE, max_attempts=MAX)
    second = await worker.queue.claim(limit=3, now=at, lease=LEASE, max_attempts=MAX)

    assert [c.notification.cause_id for c in first] == [n.cause_id for n in notes[:3]]
    assert [c.notification.cause_id for c in second] == [n.cause_id for n in notes[3:]]
    assert {c.attempt for c in first + second} == {1}
    assert first[0].notification == notes[0]
    assert (
        await worker.queue.claim(limit=3, now=at + LEASE / 2, lease=LEASE, max_attempts=MAX) == []
    )

    again = await worker.queue.claim(limit=10, now=at + LEASE, lease=LEASE, max_attempts=MAX)
    assert sorted(c.row_id for c in again) == sorted(c.row_id for c in first + second)
    assert {c.attempt for c in again} == {2}
    # The first claims are stale now: their outcomes change nothing.
    assert await worker.queue.mark_sent(first[0], now=at) is False
    assert await worker.queue.dead_letter(first[1], error="x") is False
    assert await worker.queue.mark_sent(again[0], now=at) is True


async def test_outcomes_decide_when_a_row_is_due_again(worker: Worker) -> None:
    await queued(worker, 4)
    at = NOW + timedelta(minutes=1)
    sent, later, released, skipped = await worker.queue.claim(
        limit=4, now=at, lease=LEASE, max_attempts=MAX
    )

    assert await worker.queue.mark_sent(sent, now=at)
    assert await worker.queue.retry_later(later, at=at + timedelta(minutes=2), error="421 busy")
    assert await worker.queue.release(released, now=at)
    assert await worker.queue.mark_skipped(skipped, now=at, reason="account closed")
    assert await worker.queue.mark_sent(sent, now=at) is False  # settled once only

    now_due = await worker.queue.claim(limit=10, now=at, lease=LEASE, max_attempts=MAX)
    assert [(c.row_id, c.attempt) for c in now_due] == [(released.row_id, 1)]
    later_due = await worker.queue.claim(
        limit=10, now=at + timedelta(minutes=2), lease=LEASE, max_attempts=MAX
    )
    assert [(c.row_id, c.attempt) for c in later_due] == [(later.row_id, 2)]


async def test_dead_letters_are_listed_in_pages_and_revived(worker: Worker) -> None:
    notes = await queued(worker, 4)
    at = NOW + timedelta(minutes=1)
    claimed = await worker.queue.claim(limit=4, now=at, lease=LEASE, max_attempts=MAX)
    for each in claimed[:3]:
        assert await worker.queue.dead_letter(each, error=f"550 no ({each.row_id})")

    page = await worker.queue.failed(limit=2)
    rest = await worker.queue.failed(limit=2, after_row_id=page[-1].row_id)
    failed = page + rest
    assert [f.notification.cause_id for f in failed] == [n.cause_id for n in notes[:3]]
    assert failed[0].attempts == 1
    assert failed[0].last_error == f"550 no ({failed[0].row_id})"
    assert failed[0].last_attempt_at == at
    assert await worker.queue.claim(limit=10, now=at + LEASE, lease=LEASE, max_attempts=MAX) == [
        replace(claimed[3], attempt=2)
    ]

    assert await worker.queue.retry_failed([failed[0].row_id], now=at) == 1
    assert await worker.queue.retry_failed([], now=at) == 0
    assert await worker.queue.retry_failed(None, now=at) == 2
    assert await worker.queue.failed(limit=10) == []
    revived = await worker.queue.claim(limit=10, now=at, lease=LEASE, max_attempts=MAX)
    assert [(c.row_id, c.attempt) for c in revived] == [(f.row_id, 1) for f in failed]


async def test_a_final_attempt_that_never_reported_back_is_dead_lettered(worker: Worker) -> None:
    (note,) = await queued(worker, 1)
    at = NOW
    for attempt in range(1, MAX + 1):
        (claimed,) = await worker.queue.claim(limit=1, now=at, lease=LEASE, max_attempts=MAX)
        assert claimed.attempt == attempt
        at += LEASE
    assert await worker.queue.claim(limit=1, now=at, lease=LEASE, max_attempts=MAX) == []
    (failed,) = await worker.queue.failed(limit=10)
    assert failed.notification.cause_id == note.cause_id
    assert failed.last_error.startswith("abandoned")


# -- EventLocations ------------------------------------------------------------------------


async def saved(worker: Worker, *items: User | Event) -> None:
    async with worker.uow() as uow:
        for item in items:
            if isinstance(item, User):
                await uow.users.add(item)
            else:
                await uow.events.add(item)
        await uow.commit()


async def moved(worker: Worker, event: Event, location: Location) -> None:
    async with worker.uow() as uow:
        stored = await uow.events.get_for_update(event.id)
        assert stored is not None
        stored.revise(now=NOW, location=location)
        await uow.events.save(stored)
        await uow.commit()


async def test_events_wait_for_coordinates_until_their_address_was_tried(worker: Worker) -> None:
    organizer = a_user()
    waiting = an_event(organizer)
    placed = an_event(organizer, coordinates=Coordinates(52.5, 13.4))
    nowhere = an_event(organizer, city="", venue="")
    nowhere.location = Location()
    cancelled = an_event(organizer, status=EventStatus.CANCELLED)
    await saved(worker, organizer, waiting, placed, nowhere, cancelled)

    (found,) = await worker.locations.awaiting(limit=10, now=NOW)
    assert found == AddressToLocate(event_id=waiting.id, location=waiting.location)

    assert await worker.locations.record_attempt(found, now=NOW, retry_at=None)
    assert await worker.locations.awaiting(limit=10, now=NOW + timedelta(days=1)) == []

    # A new address waits again; the old one's attempt can no longer be recorded.
    elsewhere = replace(waiting.location, address="Alexanderplatz 1")
    await moved(worker, waiting, elsewhere)
    (again,) = await worker.locations.awaiting(limit=10, now=NOW)
    assert again.location.address == "Alexanderplatz 1"
    assert await worker.locations.record_attempt(found, now=NOW, retry_at=None) is False
    assert await worker.locations.awaiting(limit=10, now=NOW) == [again]


async def test_a_failed_try_waits_for_its_retry_time(worker: Worker) -> None:
    organizer = a_user()
    first, second = an_event(organizer), an_event(organizer)
    await saved(worker, organizer, first, second)
    waiting = await worker.locations.awaiting(limit=1, now=NOW)
    assert [w.event_id for w in waiting] == [min(first.id, second.id)]

    retry_at = NOW + timedelta(minutes=15)
    assert await worker.locations.record_attempt(waiting[0], now=NOW, retry_at=retry_at)
    assert [w.event_id for w in await worker.locations.awaiting(limit=10, now=NOW)] == [
        max(first.id, second.id)
    ]
    due = await worker.locations.awaiting(limit=10, now=retry_at)
    assert [w.event_id for w in due] == [max(first.id, second.id), min(first.id, second.id)]
