"""The worker adds the seat's current ticket code to the confirmation and promotion
mails at delivery (the outbox never holds it), and none once the seat is given up."""

from __future__ import annotations

from adapters.memory.delivery import MemoryOutboxQueue
from adapters.memory.fakes import RecordingNotifier
from application.ports.notifications import NotificationKind
from application.use_cases.deliver_notifications import DeliverNotifications
from application.use_cases.leave_event import LeaveEventCommand
from domain.users import Role
from tests.unit.people import person
from tests.unit.world import World

Kind = NotificationKind


def worker(world: World, notifier: RecordingNotifier) -> DeliverNotifications:
    return DeliverNotifications(
        MemoryOutboxQueue(world.store),
        notifier,
        world.user_queries,
        world.event_queries,
        world.clock,
        registrations=world.registration_queries,
    )


def codes(notifier: RecordingNotifier) -> dict[Kind, str | None]:
    return {
        d.notification.kind: d.notification.details.get("ticket_code") for d in notifier.delivered
    }


async def test_confirmation_and_promotion_carry_the_current_code(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    first, second = await person(world, name="First"), await person(world, name="Second")
    event = await world.event(organizer, capacity=1, waitlist=True)
    await world.join(first, event.id)
    await world.join(second, event.id)
    await world.leave.execute(LeaveEventCommand(actor=first, event_id=event.id))
    notifier = RecordingNotifier()

    await worker(world, notifier).execute()

    (promoted,) = [r for r in world.registrations(event.id) if r.user_id == second.user_id]
    by_recipient = {
        (d.notification.kind, d.recipient.id): d.notification.details.get("ticket_code")
        for d in notifier.delivered
    }
    assert promoted.ticket_code is not None
    assert by_recipient[(Kind.REGISTRATION_PROMOTED, second.user_id)] == promoted.ticket_code
    assert by_recipient[(Kind.REGISTRATION_WAITLISTED, second.user_id)] is None
    # `first` left before the worker ran: their confirmation goes out without a ticket.
    assert by_recipient[(Kind.REGISTRATION_CONFIRMED, first.user_id)] is None
    assert all("ticket_code" not in n.details for n in world.outbox())


async def test_a_confirmation_delivered_while_the_seat_holds_has_its_code(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    guest = await person(world, name="Guest")
    event = await world.event(organizer)
    await world.join(guest, event.id)
    notifier = RecordingNotifier()

    await worker(world, notifier).execute()

    (seat,) = world.registrations(event.id)
    assert codes(notifier)[Kind.REGISTRATION_CONFIRMED] == seat.ticket_code
