"""DeliverNotifications on the memory adapters: what is sent, to whom, with which
context; retries, dead letters and leases, asserted on the outbox's state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

import pytest

from adapters.memory.delivery import MemoryOutboxQueue
from adapters.memory.fakes import Delivery, RecordingNotifier
from application.delivery_policy import DeliveryPolicy
from application.ports.notifications import (
    DeliveryRefused,
    Notification,
    NotificationKind,
    Notifier,
    Recipient,
)
from application.ports.queries import EventView
from application.principal import Principal
from application.use_cases.close_own_account import CloseOwnAccountCommand
from application.use_cases.delete_event import DeleteEventCommand
from application.use_cases.deliver_notifications import DeliverNotifications, Outcome
from application.use_cases.list_failed_notifications import (
    ListFailedNotifications,
    ListFailedNotificationsCommand,
)
from application.use_cases.retry_failed_notifications import (
    RetryFailedNotifications,
    RetryFailedNotificationsCommand,
)
from application.use_cases.update_user import UpdateUserCommand
from domain.errors import InvalidValue
from domain.users import Role
from tests.unit.people import person
from tests.unit.world import World

Kind = NotificationKind
POLICY = DeliveryPolicy(batch_size=10, max_attempts=3, first_retry=timedelta(seconds=30))


@dataclass
class FlakyNotifier(Notifier):
    """Records what it delivered; fails for the recipients in `failing`."""

    failing: dict[UUID, Exception] = field(default_factory=dict)
    delivered: list[Delivery] = field(default_factory=list)
    tries: int = 0

    async def deliver(
        self,
        notification: Notification,
        *,
        recipient: Recipient,
        event: EventView | None,
        message_id: str,
    ) -> None:
        self.tries += 1
        failure = self.failing.get(recipient.id)
        if failure is not None:
            raise failure
        self.delivered.append(
            Delivery(
                notification=notification, recipient=recipient, event=event, message_id=message_id
            )
        )


@dataclass
class Delivering:
    world: World
    notifier: Notifier
    policy: DeliveryPolicy = POLICY

    def __post_init__(self) -> None:
        self.queue = MemoryOutboxQueue(self.world.store)
        self.use_case = DeliverNotifications(
            self.queue,
            self.notifier,
            self.world.user_queries,
            self.world.event_queries,
            self.world.clock,
            self.policy,
            jitter=lambda: 0.5,
        )

    def row_of(self, kind: Kind, recipient: Principal) -> int:
        for row_id, n in enumerate(self.world.outbox(), start=1):
            if n.kind is kind and n.recipient_id == recipient.user_id:
                return row_id
        raise AssertionError(f"no {kind} for {recipient}")


async def scene(world: World) -> tuple[Principal, Principal, EventView]:
    organizer = await person(world, Role.ORGANIZER, name="Olga Organizer")
    attendee = await person(world, name="Grace Hopper")
    event = await world.event(organizer, title="Rust & Python")
    await world.join(attendee, event.id)
    return organizer, attendee, event


async def test_a_batch_sends_every_due_message_with_its_context(world: World) -> None:
    organizer, attendee, _ = await scene(world)
    notifier = RecordingNotifier()
    delivering = Delivering(world, notifier)

    report = await delivering.use_case.execute()

    # Two welcomes, the organizer's "created" and "published", the attendee's seat.
    assert report.count(Outcome.SENT) == len(world.outbox()) == 5
    confirmed = next(
        d for d in notifier.delivered if d.notification.kind is Kind.REGISTRATION_CONFIRMED
    )
    assert confirmed.recipient.id == attendee.user_id
    assert confirmed.recipient.full_name == "Grace Hopper"
    assert confirmed.recipient.email.endswith("@example.org")
    assert confirmed.event is not None and confirmed.event.title == "Rust & Python"
    row = delivering.row_of(Kind.REGISTRATION_CONFIRMED, attendee)
    cause = confirmed.notification.cause_id
    assert confirmed.message_id == f"<{row}.{cause.hex}@eventapi>"
    welcome = next(d for d in notifier.delivered if d.notification.kind is Kind.WELCOME)
    assert welcome.event is None
    assert all(delivering.queue.status(i) == "sent" for i in range(1, 6))
    assert (await delivering.use_case.execute()).claimed == 0
    assert organizer.user_id in {d.recipient.id for d in notifier.delivered}


async def test_one_failing_message_is_retried_later_and_holds_up_no_other(world: World) -> None:
    _, attendee, event = await scene(world)
    other = await person(world)
    await world.join(other, event.id)
    notifier = FlakyNotifier(failing={attendee.user_id: ConnectionRefusedError("relay down")})
    delivering = Delivering(world, notifier)

    report = await delivering.use_case.execute()

    assert report.count(Outcome.RETRY) == 2  # the attendee's welcome and confirmation
    assert report.count(Outcome.SENT) == len(world.outbox()) - 2
    row = delivering.row_of(Kind.REGISTRATION_CONFIRMED, attendee)
    assert delivering.queue.status(row) == "pending"
    # Not due before the backoff (30 s, with jitter 0.5: 22.5 s) has passed.
    world.clock.advance(timedelta(seconds=22))
    assert (await delivering.use_case.execute()).claimed == 0
    notifier.failing.clear()
    world.clock.advance(timedelta(seconds=1))
    again = await delivering.use_case.execute()
    assert again.count(Outcome.SENT) == 2
    assert delivering.queue.status(row) == "sent"


async def test_backoff_grows_then_the_message_is_dead_lettered_and_can_be_revived(
    world: World,
) -> None:
    _, attendee, _ = await scene(world)
    notifier = FlakyNotifier(failing={attendee.user_id: TimeoutError("slow relay")})
    delivering = Delivering(world, notifier)
    row = delivering.row_of(Kind.REGISTRATION_CONFIRMED, attendee)

    waits: list[timedelta] = []
    for _ in range(POLICY.max_attempts):
        before = notifier.tries
        await delivering.use_case.execute()
        assert notifier.tries > before
        waits.append(POLICY.retry_delay(len(waits) + 1, 0.5))
        world.clock.advance(waits[-1])
    assert waits[1] == 2 * waits[0]
    assert delivering.queue.status(row) == "failed"
    assert (await delivering.use_case.execute()).claimed == 0

    listed = await ListFailedNotifications(delivering.queue).execute(
        ListFailedNotificationsCommand(limit=10)
    )
    assert [f.row_id for f in listed if f.notification.kind is Kind.REGISTRATION_CONFIRMED] == [row]
    failed = next(f for f in listed if f.row_id == row)
    assert failed.attempts == POLICY.max_attempts
    assert failed.last_error == "TimeoutError: slow relay"

    notifier.failing.clear()
    retry = RetryFailedNotifications(delivering.queue, world.clock)
    assert await retry.execute(RetryFailedNotificationsCommand(row_ids=(row,))) == 1
    assert await retry.execute(RetryFailedNotificationsCommand(row_ids=(row,))) == 0
    assert (await delivering.use_case.execute()).count(Outcome.SENT) == 1
    assert delivering.queue.status(row) == "sent"


async def test_a_refusal_for_good_is_dead_lettered_at_once(world: World) -> None:
    _, attendee, _ = await scene(world)
    notifier = FlakyNotifier(failing={attendee.user_id: DeliveryRefused("550 no such user")})
    delivering = Delivering(world, notifier)

    report = await delivering.use_case.execute()

    assert report.count(Outcome.DEAD) == 2
    assert delivering.queue.status(delivering.row_of(Kind.WELCOME, attendee)) == "failed"


async def test_closed_accounts_and_vanished_events_are_skipped(world: World) -> None:
    organizer, attendee, event = await scene(world)
    leaver = await person(world)
    await world.join(leaver, event.id)
    admin = await person(world, Role.ADMIN)
    await world.update_user.execute(
        UpdateUserCommand(actor=admin, user_id=leaver.user_id, is_active=False)
    )
    await world.delete_event.execute(DeleteEventCommand(actor=organizer, event_id=event.id))
    notifier = RecordingNotifier()
    delivering = Delivering(world, notifier)

    report = await delivering.use_case.execute()

    sent = {(d.notification.kind, d.recipient.id) for d in notifier.delivered}
    assert (Kind.EVENT_DELETED, attendee.user_id) in sent
    deleted = next(d for d in notifier.delivered if d.notification.kind is Kind.EVENT_DELETED)
    assert deleted.event is None
    assert deleted.notification.details["title"] == "Rust & Python"
    # The event is gone: "you're in" for it is not sent any more; nor is anything
    # to the account that was closed.
    assert (Kind.REGISTRATION_CONFIRMED, attendee.user_id) not in sent
    assert all(d.recipient.id != leaver.user_id for d in notifier.delivered)
    assert report.count(Outcome.SKIPPED) >= 3
    assert report.count(Outcome.SKIPPED) + report.count(Outcome.SENT) == report.claimed


async def test_nothing_is_left_to_deliver_to_an_erased_account(world: World) -> None:
    _, _, event = await scene(world)
    leaver = await person(world)
    await world.join(leaver, event.id)
    await world.close_own_account.execute(CloseOwnAccountCommand(actor=leaver))
    notifier = RecordingNotifier()

    report = await Delivering(world, notifier).use_case.execute()

    assert report.claimed == len(notifier.delivered) > 0
    assert all(d.recipient.id != leaver.user_id for d in notifier.delivered)
    assert all(not d.recipient.email.endswith("@erased.invalid") for d in notifier.delivered)


async def test_a_lease_that_ran_out_is_claimed_again_and_the_old_claim_is_fenced(
    world: World,
) -> None:
    await scene(world)
    delivering = Delivering(world, RecordingNotifier())
    queue, now = delivering.queue, world.clock.now()
    (crashed, *_) = await queue.claim(
        limit=1, now=now, lease=POLICY.lease, max_attempts=POLICY.max_attempts
    )
    # A worker died holding it: nobody else gets it while the lease holds ...
    world.clock.advance(POLICY.lease - timedelta(seconds=1))
    report = await delivering.use_case.execute()
    assert queue.status(crashed.row_id) == "pending"
    assert report.claimed == len(world.outbox()) - 1
    # ... and once it has run out, the row comes back as a second attempt.
    world.clock.advance(timedelta(seconds=2))
    again = await delivering.use_case.execute()
    assert again.count(Outcome.SENT) == 1
    assert queue.status(crashed.row_id) == "sent"
    assert await queue.mark_sent(crashed, now=world.clock.now()) is False


async def test_a_final_attempt_never_reported_is_dead_lettered(world: World) -> None:
    await scene(world)
    queue = Delivering(world, RecordingNotifier()).queue
    lease = timedelta(minutes=1)
    for _ in range(POLICY.max_attempts):
        claimed = await queue.claim(
            limit=10, now=world.clock.now(), lease=lease, max_attempts=POLICY.max_attempts
        )
        world.clock.advance(lease)
    assert {each.attempt for each in claimed} == {POLICY.max_attempts}
    assert await queue.claim(limit=10, now=world.clock.now(), lease=lease, max_attempts=3) == []
    assert {queue.status(each.row_id) for each in claimed} == {"failed"}
    (abandoned, *_) = await queue.failed(limit=1)
    assert abandoned.last_error.startswith("abandoned")


async def test_rows_left_at_half_the_lease_are_given_back_untried(world: World) -> None:
    await scene(world)

    @dataclass
    class SlowNotifier(RecordingNotifier):
        async def deliver(
            self,
            notification: Notification,
            *,
            recipient: Recipient,
            event: EventView | None,
            message_id: str,
        ) -> None:
            await super().deliver(
                notification, recipient=recipient, event=event, message_id=message_id
            )
            world.clock.advance(POLICY.lease / 4)

    delivering = Delivering(world, SlowNotifier())
    report = await delivering.use_case.execute()
    assert report.outcomes == (Outcome.SENT, Outcome.SENT) + (Outcome.RELEASED,) * 3
    # Given back untried: due at once, and their next claim is still a first attempt.
    reclaimed = await delivering.queue.claim(
        limit=10, now=world.clock.now(), lease=POLICY.lease, max_attempts=1
    )
    assert [each.attempt for each in reclaimed] == [1, 1, 1]


def test_the_retry_delay_doubles_up_to_a_ceiling_with_a_random_half() -> None:
    policy = DeliveryPolicy(first_retry=timedelta(seconds=10), longest_retry=timedelta(minutes=1))
    assert policy.retry_delay(1, 0.0) == timedelta(seconds=5)
    assert policy.retry_delay(1, 0.999999) <= timedelta(seconds=10)
    assert policy.retry_delay(2, 1.0) == timedelta(seconds=20)
    assert policy.retry_delay(3, 1.0) == timedelta(seconds=40)
    assert policy.retry_delay(4, 1.0) == policy.retry_delay(40, 1.0) == timedelta(minutes=1)
    with pytest.raises(InvalidValue):
        DeliveryPolicy(max_attempts=0)
