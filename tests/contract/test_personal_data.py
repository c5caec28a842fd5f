"""PersonalData (the export's reads) behaves alike on memory, SQLite and PostgreSQL:
every row of the person's, nobody else's, in keyset batches of at most the size
asked for, in a stable order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar
from uuid import UUID

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.delivery import MemoryOutboxQueue
from adapters.memory.personal_data import MemoryPersonalData
from adapters.memory.state import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWorkFactory
from adapters.sql.outbox_queue import SqlOutboxQueue
from adapters.sql.personal_data import SqlPersonalData
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from application.ports.delivery import OutboxQueue
from application.ports.notifications import Notification, NotificationKind
from application.ports.personal_data import NotificationState, PersonalData
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.event import Event, EventStatus
from domain.registration import Registration, RegistrationStatus
from domain.users import Role, User
from tests.builders import NOW, a_registration, a_user, an_event, new_id

T = TypeVar("T")


@dataclass(frozen=True)
class Storage:
    uow: UnitOfWorkFactory
    queue: OutboxQueue
    data: PersonalData


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage(request: pytest.FixtureRequest) -> Storage:
    if request.param == "memory":
        store = MemoryStore()
        queue = MemoryOutboxQueue(store)
        return Storage(MemoryUnitOfWorkFactory(store), queue, MemoryPersonalData(store, queue))
    engine: AsyncEngine = request.getfixturevalue(f"{request.param}_engine")
    return Storage(SqlUnitOfWorkFactory(engine), SqlOutboxQueue(engine), SqlPersonalData(engine))


async def put(storage: Storage, *items: User | Event | Registration | Notification) -> None:
    async with storage.uow() as uow:
        for item in items:
            if isinstance(item, User):
                await uow.users.add(item)
            elif isinstance(item, Event):
                await uow.events.add(item)
            elif isinstance(item, Registration):
                await uow.registrations.add(item)
            else:
                await uow.outbox.add(item)
        await uow.commit()


async def batches(source: AsyncIterator[list[T]]) -> list[list[T]]:
    return [batch async for batch in source]


async def test_registrations_are_the_persons_every_one_in_batches(storage: Storage) -> None:
    organizer, me, other = a_user(role=Role.ORGANIZER), a_user(), a_user()
    events = [
        an_event(organizer, title=f"Event {i}", starts_at=NOW + timedelta(days=10 - i))
        for i in range(5)
    ]
    mine = [
        a_registration(events[0], me, at=NOW + timedelta(minutes=1)),
        a_registration(
            events[1], me, status=RegistrationStatus.CANCELLED, at=NOW + timedelta(minutes=2)
        ),
        a_registration(events[2], me, at=NOW + timedelta(minutes=3)),
        a_registration(
            events[3],
            me,
            status=RegistrationStatus.WAITLISTED,
            ticket=2,
            at=NOW + timedelta(minutes=4),
        ),
        a_registration(events[4], me, at=NOW + timedelta(minutes=5)),
    ]
    theirs = [
        a_registration(events[3], other, status=RegistrationStatus.WAITLISTED, ticket=1, at=NOW),
        a_registration(events[0], other, at=NOW + timedelta(minutes=9)),
    ]
    await put(storage, organizer, me, other, *events, *mine, *theirs)

    found = await batches(storage.data.registrations(me.id, batch_size=2))

    assert [len(batch) for batch in found] == [2, 2, 1]
    views = [view for batch in found for view in batch]
    assert [view.id for view in views] == [r.id for r in mine]  # oldest first
    assert {view.user_id for view in views} == {me.id}
    assert [view.event.title if view.event else None for view in views] == [
        f"Event {i}" for i in range(5)
    ]
    assert views[0].event is not None
    assert views[0].event.starts_at == events[0].window.starts_at
    assert [view.status for view in views][:2] == [
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.CANCELLED,
    ]
    assert views[3].waitlist_position == 2  # behind the other person's ticket
    assert [view.waitlist_position for view in views if view is not views[3]] == [None] * 4


async def test_a_batch_size_that_divides_the_rows_ends_without_an_empty_batch(
    storage: Storage,
) -> None:
    organizer, me = a_user(role=Role.ORGANIZER), a_user()
    events = [an_event(organizer, starts_at=NOW + timedelta(days=i + 1)) for i in range(4)]
    await put(storage, organizer, me, *events, *(a_registration(e, me) for e in events))

    found = await batches(storage.data.registrations(me.id, batch_size=2))

    assert [len(batch) for batch in found] == [2, 2]
    assert len({view.id for batch in found for view in batch}) == 4


async def test_organised_events_are_every_status_and_only_the_organizers(
    storage: Storage,
) -> None:
    me, other = a_user(role=Role.ORGANIZER), a_user(role=Role.ORGANIZER)
    mine = [
        an_event(me, title="Draft", status=EventStatus.DRAFT, starts_at=NOW + timedelta(days=1)),
        an_event(me, title="Published", starts_at=NOW + timedelta(days=2)),
        an_event(
            me, title="Cancelled", status=EventStatus.CANCELLED, starts_at=NOW + timedelta(days=3)
        ),
    ]
    theirs = an_event(other, title="Not mine", starts_at=NOW + timedelta(days=2))
    await put(storage, me, other, *mine, theirs)

    found = await batches(storage.data.organised_events(me.id, batch_size=2))

    assert [len(batch) for batch in found] == [2, 1]
    views = [view for batch in found for view in batch]
    assert [view.title for view in views] == ["Draft", "Published", "Cancelled"]
    assert {view.organizer.id for view in views} == {me.id}
    assert [view.status for view in views] == [
        EventStatus.DRAFT,
        EventStatus.PUBLISHED,
        EventStatus.CANCELLED,
    ]


async def test_notifications_are_the_recipients_with_what_became_of_them(
    storage: Storage,
) -> None:
    organizer, me, other = a_user(role=Role.ORGANIZER), a_user(), a_user()
    event = an_event(organizer, title="Python meetup")

    def note(kind: NotificationKind, to: UUID, minutes: int, **extra: object) -> Notification:
        return Notification(
            cause_id=new_id(),
            kind=kind,
            recipient_id=to,
            created_at=NOW + timedelta(minutes=minutes),
            **extra,  # type: ignore[arg-type]
        )

    welcome = note(NotificationKind.WELCOME, me.id, 1)
    joined = note(NotificationKind.REGISTRATION_CONFIRMED, me.id, 2, event_id=event.id)
    gone = note(
        NotificationKind.EVENT_DELETED,
        me.id,
        3,
        event_id=new_id(),
        details={"title": "A deleted event"},
    )
    not_mine = note(NotificationKind.WELCOME, other.id, 0)
    await put(storage, organizer, me, other, event, not_mine, welcome, joined, gone)
    at = NOW + timedelta(hours=1)
    claimed = await storage.queue.claim(limit=3, now=at, lease=timedelta(minutes=5), max_attempts=3)
    by_cause = {c.notification.cause_id: c for c in claimed}
    assert await storage.queue.mark_sent(by_cause[welcome.cause_id], now=at)
    assert await storage.queue.mark_skipped(by_cause[joined.cause_id], now=at, reason="closed")

    found = await batches(storage.data.notifications(me.id, batch_size=2))

    assert [len(batch) for batch in found] == [2, 1]
    records = [record for batch in found for record in batch]
    assert [r.kind for r in records] == [
        NotificationKind.WELCOME,
        NotificationKind.REGISTRATION_CONFIRMED,
        NotificationKind.EVENT_DELETED,
    ]
    assert [r.status for r in records] == [
        NotificationState.SENT,
        NotificationState.SKIPPED,
        NotificationState.PENDING,
    ]
    assert records[0].sent_at == at
    assert records[2].sent_at is None
    assert [r.created_at for r in records] == [
        welcome.created_at,
        joined.created_at,
        gone.created_at,
    ]
    assert [r.event_title for r in records] == [None, "Python meetup", "A deleted event"]


async def test_someone_with_no_history_gets_no_batches(storage: Storage) -> None:
    me = a_user()
    await put(storage, me)

    assert await batches(storage.data.registrations(me.id, batch_size=2)) == []
    assert await batches(storage.data.organised_events(me.id, batch_size=2)) == []
    assert await batches(storage.data.notifications(me.id, batch_size=2)) == []
