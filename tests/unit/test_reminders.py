"""Reminders on the memory adapters with a fixed clock: when one is queued, moved or
withdrawn (the unit of work), and what the worker checks before it goes out."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import pytest

from adapters.memory.delivery import MemoryOutboxQueue
from adapters.memory.fakes import RecordingNotifier
from application.delivery_policy import DeliveryPolicy
from application.event_input import WindowInput
from application.ports.notifications import Notification, NotificationKind
from application.principal import Principal
from application.reminders import ReminderSchedule, reminder_cause
from application.use_cases.cancel_event import CancelEventCommand
from application.use_cases.close_own_account import CloseOwnAccountCommand
from application.use_cases.delete_event import DeleteEventCommand
from application.use_cases.deliver_notifications import DeliverNotifications, Outcome
from application.use_cases.leave_event import LeaveEventCommand
from application.use_cases.remove_attendee import RemoveAttendeeCommand
from application.use_cases.update_event import UpdateEventCommand
from domain.errors import InvalidValue
from domain.users import Role
from tests.unit.people import person
from tests.unit.world import World

Kind = NotificationKind
DAY = timedelta(days=1)


@pytest.fixture
def world() -> World:
    """Units of work with the default schedule: reminders a day ahead."""
    return World(reminders=ReminderSchedule())


def reminders(world: World) -> list[Notification]:
    """The reminder rows the outbox holds (withdrawn ones are gone)."""
    state = world.store.state
    return [
        n
        for row_id, n in enumerate(state.outbox, start=1)
        if n.kind is Kind.REMINDER and state.outbox_row(row_id).status != "purged"
    ]


def due_times(world: World) -> dict[UUID, datetime | None]:
    return {n.recipient_id: n.due_at for n in reminders(world)}


def worker(world: World) -> tuple[DeliverNotifications, RecordingNotifier]:
    notifier = RecordingNotifier()
    use_case = DeliverNotifications(
        MemoryOutboxQueue(world.store),
        notifier,
        world.user_queries,
        world.event_queries,
        world.clock,
        DeliveryPolicy(batch_size=50),
        registrations=world.registration_queries,
    )
    return use_case, notifier


def reminded(notifier: RecordingNotifier) -> list[UUID]:
    return [d.recipient.id for d in notifier.delivered if d.notification.kind is Kind.REMINDER]


async def move(world: World, organizer: Principal, event_id: UUID, starts_at: datetime) -> None:
    await world.update_event.execute(
        UpdateEventCommand(
            actor=organizer,
            event_id=event_id,
            window=WindowInput(starts_at=starts_at, ends_at=starts_at + timedelta(hours=2)),
        )
    )


def test_the_schedule_refuses_nothing_or_less() -> None:
    with pytest.raises(InvalidValue):
        ReminderSchedule(timedelta(0))
    schedule = ReminderSchedule(timedelta(hours=2))
    now = datetime(2030, 1, 1, 9, 0).astimezone()
    assert schedule.due_at(now + timedelta(hours=3), now=now) == now + timedelta(hours=1)
    assert schedule.due_at(now + timedelta(hours=2), now=now) is None
    assert schedule.due_at(None, now=now) is None


async def test_a_seat_gets_one_reminder_due_a_day_before_the_start(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    event = await world.event(organizer, starts_in=7 * DAY)

    await world.join(attendee, event.id)

    (reminder,) = reminders(world)
    assert reminder.recipient_id == attendee.user_id
    assert reminder.event_id == event.id
    assert reminder.cause_id == reminder_cause(event.id)
    assert reminder.due_at == event.starts_at - DAY


async def test_a_waitlist_place_gets_none_until_it_becomes_a_seat(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    seated, waiting = await person(world), await person(world)
    event = await world.event(organizer, capacity=1, waitlist=True)
    await world.join(seated, event.id)
    await world.join(waiting, event.id)
    assert set(due_times(world)) == {seated.user_id}

    world.clock.advance(timedelta(hours=1))
    await world.leave.execute(LeaveEventCommand(actor=seated, event_id=event.id))

    assert due_times(world) == {waiting.user_id: event.starts_at - DAY}


async def test_joining_after_the_reminder_time_queues_none(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    event = await world.event(organizer, starts_in=DAY - timedelta(minutes=1))

    await world.join(attendee, event.id)

    assert reminders(world) == []
    assert [n.kind for n in world.outbox() if n.recipient_id == attendee.user_id] == [
        Kind.WELCOME,
        Kind.REGISTRATION_CONFIRMED,
    ]


async def test_leaving_or_being_removed_withdraws_the_pending_reminder(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    leaver, removed, staying = await person(world), await person(world), await person(world)
    event = await world.event(organizer)
    for someone in (leaver, removed, staying):
        await world.join(someone, event.id)

    await world.leave.execute(LeaveEventCommand(actor=leaver, event_id=event.id))
    (registration,) = [r for r in world.registrations(event.id) if r.user_id == removed.user_id]
    await world.remove_attendee.execute(
        RemoveAttendeeCommand(actor=organizer, event_id=event.id, registration_id=registration.id)
    )

    assert set(due_times(world)) == {staying.user_id}
    # Joining again before the reminder time queues it again, once.
    await world.join(leaver, event.id)
    assert set(due_times(world)) == {staying.user_id, leaver.user_id}


async def test_a_new_start_moves_every_pending_reminder_earlier_or_later(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    first, second = await person(world), await person(world)
    event = await world.event(organizer, starts_in=7 * DAY)
    await world.join(first, event.id)
    await world.join(second, event.id)

    earlier = event.starts_at - 2 * DAY
    await move(world, organizer, event.id, earlier)
    assert due_times(world) == {first.user_id: earlier - DAY, second.user_id: earlier - DAY}

    later = event.starts_at + 3 * DAY
    await move(world, organizer, event.id, later)
    assert due_times(world) == {first.user_id: later - DAY, second.user_id: later - DAY}


async def test_a_start_moved_inside_the_reminder_time_withdraws_them(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    event = await world.event(organizer, starts_in=7 * DAY)
    await world.join(attendee, event.id)

    await move(world, organizer, event.id, world.clock.now() + timedelta(hours=3))

    assert reminders(world) == []
    # The change itself is announced (the time is what a reminder would have said).
    assert any(n.kind is Kind.EVENT_CHANGED for n in world.outbox())


async def test_a_start_moved_later_gives_one_to_who_joined_too_late_for_the_old_one(
    world: World,
) -> None:
    organizer = await person(world, Role.ORGANIZER)
    late = await person(world)
    event = await world.event(organizer, starts_in=DAY - timedelta(hours=1))
    await world.join(late, event.id)
    assert reminders(world) == []

    later = event.starts_at + 2 * DAY
    await move(world, organizer, event.id, later)

    assert due_times(world) == {late.user_id: later - DAY}


async def test_a_cancelled_or_deleted_event_withdraws_its_reminders(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    cancelled, deleted, kept = [await world.event(organizer) for _ in range(3)]
    for event in (cancelled, deleted, kept):
        await world.join(attendee, event.id)

    await world.cancel_event.execute(CancelEventCommand(actor=organizer, event_id=cancelled.id))
    await world.delete_event.execute(DeleteEventCommand(actor=organizer, event_id=deleted.id))

    assert [n.event_id for n in reminders(world)] == [kept.id]


async def test_an_erased_account_keeps_no_reminder(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    leaver = await person(world)
    event = await world.event(organizer)
    await world.join(leaver, event.id)

    await world.close_own_account.execute(CloseOwnAccountCommand(actor=leaver))

    assert reminders(world) == []


async def test_the_worker_sends_it_at_its_time_once(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    event = await world.event(organizer, starts_in=3 * DAY)
    await world.join(attendee, event.id)
    deliver, notifier = worker(world)

    await deliver.execute()
    assert reminded(notifier) == []  # everything else went; the reminder waits

    world.clock.set(event.starts_at - DAY - timedelta(seconds=1))
    assert (await deliver.execute()).claimed == 0
    world.clock.advance(timedelta(seconds=1))
    report = await deliver.execute()

    assert report.count(Outcome.SENT) == 1
    assert reminded(notifier) == [attendee.user_id]
    (delivery,) = [d for d in notifier.delivered if d.notification.kind is Kind.REMINDER]
    assert delivery.event is not None and delivery.event.id == event.id
    # Leaving and joining again after it went out queues no second one.
    await world.leave.execute(LeaveEventCommand(actor=attendee, event_id=event.id))
    await world.join(attendee, event.id)
    world.clock.advance(timedelta(hours=1))
    await deliver.execute()
    assert reminded(notifier) == [attendee.user_id]


async def test_the_worker_skips_a_reminder_whose_seat_or_event_is_gone(world: World) -> None:
    """Belt and braces: rows the unit of work did not withdraw (written behind its
    back here) are still not sent."""
    organizer = await person(world, Role.ORGANIZER)
    holder, leaver = await person(world), await person(world)
    on, cancelled = await world.event(organizer), await world.event(organizer)
    await world.join(holder, on.id)
    await world.join(leaver, on.id)
    await world.join(holder, cancelled.id)
    stale = list(world.store.state.outbox)
    await world.leave.execute(LeaveEventCommand(actor=leaver, event_id=on.id))
    await world.cancel_event.execute(CancelEventCommand(actor=organizer, event_id=cancelled.id))
    # Put the withdrawn rows back, as if the unit of work had not withdrawn them.
    state = world.store.state
    state.outbox_rows = {
        row_id: row
        for row_id, row in state.outbox_rows.items()
        if not (row.status == "purged" and state.outbox[row_id - 1] in stale)
    }
    assert len(reminders(world)) == 3
    deliver, notifier = worker(world)

    world.clock.set(on.starts_at - timedelta(hours=1))
    await deliver.execute()

    (sent,) = [d for d in notifier.delivered if d.notification.kind is Kind.REMINDER]
    assert (sent.recipient.id, sent.notification.event_id) == (holder.user_id, on.id)


async def test_the_worker_skips_a_reminder_claimed_after_the_start(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    event = await world.event(organizer)
    await world.join(attendee, event.id)
    deliver, notifier = worker(world)

    world.clock.set(event.starts_at + timedelta(minutes=1))  # no worker ran in between
    report = await deliver.execute()

    assert reminded(notifier) == []
    assert report.count(Outcome.SKIPPED) == 1


async def test_without_registration_queries_no_reminder_goes_out(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    event = await world.event(organizer)
    await world.join(attendee, event.id)
    notifier = RecordingNotifier()
    deliver = DeliverNotifications(
        MemoryOutboxQueue(world.store),
        notifier,
        world.user_queries,
        world.event_queries,
        world.clock,
    )

    world.clock.set(event.starts_at - timedelta(hours=1))
    await deliver.execute()

    assert reminded(notifier) == []
