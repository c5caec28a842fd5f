"""Scheduled outbox rows (reminders) behave alike on memory, SQLite and PostgreSQL:
not claimed before their due time, moved and withdrawn while pending only, queued
again after a withdrawal but never after they were sent."""

from __future__ import annotations

from datetime import datetime, timedelta

from application.ports.delivery import ClaimedNotification
from application.ports.notifications import Broadcast, Notification, NotificationKind
from application.reminders import reminder_cause
from domain.event import Event
from domain.registration import RegistrationStatus
from domain.users import Role, User
from tests.builders import NOW, a_registration, a_user, an_event
from tests.contract.backends import Backend
from tests.contract.test_repositories import store

LEASE = timedelta(minutes=5)
DUE = NOW + timedelta(days=6)


def reminder(event: Event, user: User, due_at: datetime = DUE) -> Notification:
    return Notification(
        cause_id=reminder_cause(event.id),
        kind=NotificationKind.REMINDER,
        recipient_id=user.id,
        event_id=event.id,
        created_at=NOW,
        due_at=due_at,
    )


async def claim(backend: Backend, now: datetime) -> list[ClaimedNotification]:
    return await backend.queue.claim(limit=50, now=now, lease=LEASE, max_attempts=3)


async def scene(backend: Backend, people: int) -> tuple[Event, list[User]]:
    organizer = a_user(role=Role.ORGANIZER)
    users = [a_user() for _ in range(people)]
    event = an_event(organizer)
    await store(backend, organizer, *users, event)
    return event, users


async def add(backend: Backend, *notes: Notification) -> None:
    async with backend.uow() as uow:
        for note in notes:
            await uow.outbox.add(note)
        await uow.commit()


async def due_times(backend: Backend) -> dict[object, datetime | None]:
    return {n.recipient_id: n.due_at for n in await backend.outbox()}


async def test_a_row_is_not_claimed_before_its_due_time(backend: Backend) -> None:
    event, (user,) = await scene(backend, 1)
    await add(backend, reminder(event, user))

    assert await backend.outbox() == [reminder(event, user)]
    assert await claim(backend, DUE - timedelta(seconds=1)) == []
    (claimed,) = await claim(backend, DUE)
    assert claimed.notification == reminder(event, user)


async def test_rescheduling_moves_only_pending_rows_of_the_cause(backend: Backend) -> None:
    event, (sent, pending) = await scene(backend, 2)
    other_organizer = a_user(role=Role.ORGANIZER)
    other_event = an_event(other_organizer)
    await store(backend, other_organizer, other_event)
    early = reminder(event, sent, due_at=NOW + timedelta(hours=1))
    await add(backend, early, reminder(event, pending), reminder(other_event, pending))
    (claimed,) = await claim(backend, NOW + timedelta(hours=1))
    assert await backend.queue.mark_sent(claimed, now=NOW + timedelta(hours=1))

    moved = NOW + timedelta(days=2)
    async with backend.uow() as uow:
        await uow.outbox.reschedule(reminder_cause(event.id), due_at=moved)
        await uow.commit()

    rows = {(n.event_id, n.recipient_id): n.due_at for n in await backend.outbox()}
    assert rows == {
        (event.id, sent.id): NOW + timedelta(hours=1),
        (event.id, pending.id): moved,
        (other_event.id, pending.id): DUE,
    }
    assert await claim(backend, moved - timedelta(seconds=1)) == []
    (again,) = await claim(backend, moved)
    assert (again.notification.recipient_id, again.notification.due_at) == (pending.id, moved)


async def test_withdrawing_deletes_pending_rows_and_keeps_sent_ones(backend: Backend) -> None:
    event, (sent, first, second) = await scene(backend, 3)
    await add(backend, reminder(event, sent, due_at=NOW))
    (claimed,) = await claim(backend, NOW)
    assert await backend.queue.mark_sent(claimed, now=NOW)
    await add(backend, reminder(event, first), reminder(event, second))

    async with backend.uow() as uow:
        await uow.outbox.withdraw(reminder_cause(event.id), recipient_id=first.id)
        await uow.commit()
    assert set(await due_times(backend)) == {sent.id, second.id}

    async with backend.uow() as uow:
        await uow.outbox.withdraw(reminder_cause(event.id))
        await uow.commit()
    assert set(await due_times(backend)) == {sent.id}

    # Withdrawn rows may be queued again; a sent one may not.
    await add(backend, reminder(event, first), reminder(event, sent, due_at=DUE))
    assert await due_times(backend) == {sent.id: NOW, first.id: DUE}
    assert [c.notification.recipient_id for c in await claim(backend, DUE)] == [first.id]


async def test_withdrawing_is_kept_only_with_the_commit(backend: Backend) -> None:
    event, (user,) = await scene(backend, 1)
    await add(backend, reminder(event, user))

    async with backend.uow() as uow:
        await uow.outbox.withdraw(reminder_cause(event.id))
        await uow.outbox.reschedule(reminder_cause(event.id), due_at=NOW)

    assert await backend.outbox() == [reminder(event, user)]


async def test_a_scheduled_broadcast_reaches_confirmed_people_without_one(
    backend: Backend,
) -> None:
    organizer = a_user(role=Role.ORGANIZER)
    has_one, seated, waiting = a_user(), a_user(), a_user()
    event = an_event(organizer)
    regs = [
        a_registration(event, has_one),
        a_registration(event, seated),
        a_registration(event, waiting, status=RegistrationStatus.WAITLISTED, ticket=1),
    ]
    await store(backend, organizer, has_one, seated, waiting, event, *regs)
    await add(backend, reminder(event, has_one))
    moved = DUE + timedelta(days=1)

    async with backend.uow() as uow:
        await uow.outbox.reschedule(reminder_cause(event.id), due_at=moved)
        await uow.outbox.broadcast(
            Broadcast(
                cause_id=reminder_cause(event.id),
                kind=NotificationKind.REMINDER,
                event_id=event.id,
                created_at=NOW + timedelta(hours=1),
                statuses=frozenset({RegistrationStatus.CONFIRMED}),
                due_at=moved,
            )
        )
        await uow.commit()

    rows = await backend.outbox()
    assert {(n.recipient_id, n.due_at) for n in rows} == {(has_one.id, moved), (seated.id, moved)}
    assert len(rows) == 2


async def test_the_registration_status_of_a_person(backend: Backend) -> None:
    organizer = a_user(role=Role.ORGANIZER)
    seated, waiting, stranger = a_user(), a_user(), a_user()
    event = an_event(organizer)
    regs = [
        a_registration(event, seated),
        a_registration(event, waiting, status=RegistrationStatus.WAITLISTED, ticket=1),
    ]
    await store(backend, organizer, seated, waiting, stranger, event, *regs)

    status_of = backend.registrations.status_of
    assert await status_of(event.id, seated.id) is RegistrationStatus.CONFIRMED
    assert await status_of(event.id, waiting.id) is RegistrationStatus.WAITLISTED
    assert await status_of(event.id, stranger.id) is None


async def test_several_added_at_once_are_each_kept_once(backend: Backend) -> None:
    event, (first, second) = await scene(backend, 2)
    confirmation = Notification(
        cause_id=reminder_cause(first.id),  # any cause of its own
        kind=NotificationKind.REGISTRATION_CONFIRMED,
        recipient_id=first.id,
        event_id=event.id,
        created_at=NOW,
    )
    await add(backend, reminder(event, second))

    async with backend.uow() as uow:
        await uow.outbox.add(confirmation, reminder(event, first), reminder(event, second))
        await uow.outbox.add()
        await uow.commit()

    assert await backend.outbox() == [
        reminder(event, second),
        confirmation,
        reminder(event, first),
    ]
