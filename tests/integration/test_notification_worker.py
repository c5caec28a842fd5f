"""The worker against real databases and a real SMTP server on loopback.

- An SMTP outage during 200 joins delays the confirmations and loses none; once
  the relay is back each arrives exactly once.
- A worker killed between sending and marking causes at most one duplicate,
  recognisable by its Message-ID.
- Two workers on PostgreSQL never send the same row twice, and a claim never
  waits for rows another transaction holds.
- Temporary refusals are retried with backoff, then dead-lettered; permanent
  ones at once; an operator can revive them.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.mail.composer import MailComposer
from adapters.mail.smtp import SmtpNotifier, SmtpRelay
from adapters.memory.fakes import FixedClock
from adapters.sql.engine import create_database_engine
from adapters.sql.event_queries import SqlEventQueries
from adapters.sql.outbox_queue import SqlOutboxQueue
from adapters.sql.tables import outbox
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from adapters.sql.user_queries import SqlUserQueries
from adapters.uuid7 import Uuid7Generator
from application.delivery_policy import DeliveryPolicy
from application.ports.notifications import Notification, Notifier, Recipient
from application.ports.queries import EventView
from application.principal import Principal
from application.use_cases.cancel_event import CancelEvent, CancelEventCommand
from application.use_cases.deliver_notifications import BatchReport, DeliverNotifications
from application.use_cases.register_for_event import RegisterForEvent, RegisterForEventCommand
from domain.event import Event
from domain.registration import RegistrationStatus
from domain.users import Role, User
from tests.builders import a_registration, a_user, an_event
from tests.mail_server import LOOPBACK, MailServer

COMPOSER = MailComposer(sender="eventapi <noreply@eventapi.test>", public_url="http://api.test")
POLICY = DeliveryPolicy(
    batch_size=25,
    max_attempts=20,
    first_retry=timedelta(seconds=10),
    longest_retry=timedelta(minutes=1),
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> AsyncEngine:
    found: AsyncEngine = request.getfixturevalue(f"{request.param}_engine")
    return found


@dataclass
class Scene:
    engine: AsyncEngine
    clock: FixedClock

    def __post_init__(self) -> None:
        self.uow = SqlUnitOfWorkFactory(self.engine)
        self.ids = Uuid7Generator()
        self.queue = SqlOutboxQueue(self.engine)

    def worker(
        self, server: MailServer, policy: DeliveryPolicy = POLICY, notifier: Notifier | None = None
    ) -> DeliverNotifications:
        return DeliverNotifications(
            self.queue,
            notifier or smtp(server),
            SqlUserQueries(self.engine),
            SqlEventQueries(self.engine),
            self.clock,
            policy,
        )

    async def store(self, *items: User | Event) -> None:
        async with self.uow() as uow:
            for item in items:
                if isinstance(item, User):
                    await uow.users.add(item)
                else:
                    await uow.events.add(item)
            await uow.commit()

    async def statuses(self) -> dict[str, int]:
        statement = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        async with self.engine.connect() as connection:
            return {row[0]: row[1] for row in await connection.execute(statement)}


def smtp(server: MailServer) -> SmtpNotifier:
    return SmtpNotifier(SmtpRelay(host=LOOPBACK, port=server.port, timeout=5), COMPOSER)


async def until_idle(worker: DeliverNotifications) -> list[BatchReport]:
    """Batches until one claims nothing (a bounded number, so a bug cannot spin)."""
    reports: list[BatchReport] = []
    for _ in range(1000):
        report = await worker.execute()
        if not report.claimed:
            return reports
        reports.append(report)
    raise AssertionError("the worker never ran out of due rows")


def scene_for(engine: AsyncEngine) -> Scene:
    return Scene(engine, FixedClock(datetime.now(UTC).replace(microsecond=0)))


async def test_an_outage_during_200_joins_delays_every_confirmation_and_loses_none(
    engine: AsyncEngine, relay: MailServer
) -> None:
    scene = scene_for(engine)
    organizer = a_user(role=Role.ORGANIZER)
    event = an_event(
        organizer, capacity=200, waitlist=False, starts_at=scene.clock.now() + timedelta(days=7)
    )
    people = [a_user() for _ in range(200)]
    await scene.store(organizer, event, *people)
    await relay.stop()  # the relay goes down
    worker = scene.worker(relay)
    register = RegisterForEvent(scene.uow, scene.clock, scene.ids)

    stop = asyncio.Event()

    async def deliver_meanwhile() -> int:
        claimed = 0
        while not stop.is_set():
            report = await worker.execute()
            claimed += report.claimed
            if not report.claimed:  # poll again shortly, or stop
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.01)
        return claimed

    delivering = asyncio.create_task(deliver_meanwhile())
    joined = await asyncio.gather(
        *(
            register.execute(
                RegisterForEventCommand(
                    actor=Principal(user_id=person.id, role=Role.ATTENDEE), event_id=event.id
                )
            )
            for person in people
        )
    )
    stop.set()
    assert await delivering > 0, "the worker ran (and failed) while people joined"
    assert {each.status for each in joined} == {RegistrationStatus.CONFIRMED}

    # Whatever the worker did not reach while the joins ran, it tries now: all fail.
    await until_idle(worker)
    assert await scene.statuses() == {"pending": 200}
    assert relay.received == []

    await relay.start()  # the relay is back, on the same port
    scene.clock.advance(POLICY.longest_retry)
    await until_idle(worker)

    received = await relay.wait_for(200)
    assert len(received) == 200
    assert set(relay.per_message_id().values()) == {1}
    assert sorted(r.recipients[0] for r in received) == sorted(str(p.email) for p in people)
    assert all(r.message["X-Eventapi-Notification"] == "registration_confirmed" for r in received)
    assert await scene.statuses() == {"sent": 200}


@dataclass
class DiesAfterSending(Notifier):
    """Sends through `inner`, and on the `nth` message, after the relay accepted it,
    hangs until the worker's task is cancelled: a kill between send and mark."""

    inner: Notifier
    nth: int
    sent: int = 0

    def __post_init__(self) -> None:
        self.hanging = asyncio.Event()

    async def deliver(
        self,
        notification: Notification,
        *,
        recipient: Recipient,
        event: EventView | None,
        message_id: str,
    ) -> None:
        await self.inner.deliver(
            notification, recipient=recipient, event=event, message_id=message_id
        )
        self.sent += 1
        if self.sent == self.nth:
            self.hanging.set()
            await asyncio.Event().wait()


async def test_a_worker_killed_between_send_and_mark_duplicates_one_message_at_most(
    engine: AsyncEngine, relay: MailServer
) -> None:
    scene = scene_for(engine)
    organizer = a_user(role=Role.ORGANIZER)
    event = an_event(organizer, capacity=30, starts_at=scene.clock.now() + timedelta(days=7))
    people = [a_user() for _ in range(30)]
    await scene.store(organizer, event, *people)
    register = RegisterForEvent(scene.uow, scene.clock, scene.ids)
    for person in people:
        await register.execute(
            RegisterForEventCommand(
                actor=Principal(user_id=person.id, role=Role.ATTENDEE), event_id=event.id
            )
        )
    dying = DiesAfterSending(smtp(relay), nth=5)
    killed = asyncio.create_task(scene.worker(relay, notifier=dying).execute())
    await dying.hanging.wait()
    killed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await killed
    assert len(await relay.wait_for(5)) == 5

    # A new worker takes over once the dead one's lease has run out.
    scene.clock.advance(POLICY.lease)
    await until_idle(scene.worker(relay))

    received = await relay.wait_for(31)
    counts = relay.per_message_id()
    assert len(counts) == 30  # every confirmation arrived ...
    duplicates = [message_id for message_id, n in counts.items() if n > 1]
    assert len(duplicates) == 1 and counts[duplicates[0]] == 2  # ... and one of them twice,
    twice = [r for r in received if r.message_id == duplicates[0]]
    assert twice[0].recipients == twice[1].recipients  # the same message to the same person
    assert twice[0].message["Subject"] == twice[1].message["Subject"]
    assert await scene.statuses() == {"sent": 30}


@pytest.mark.postgres
async def test_two_workers_on_postgres_never_send_the_same_row_twice(
    postgres_engine: AsyncEngine, postgres_url: str, relay: MailServer
) -> None:
    scene = scene_for(postgres_engine)
    organizer = a_user(role=Role.ORGANIZER)
    event = an_event(organizer, capacity=300, starts_at=scene.clock.now() + timedelta(days=7))
    people = [a_user() for _ in range(300)]
    await scene.store(organizer, event, *people)
    async with scene.uow() as uow:
        for person in people:
            await uow.registrations.add(a_registration(event, person, at=scene.clock.now()))
        stored = await uow.events.get_for_update(event.id)
        assert stored is not None
        stored.attendee_count = 300
        await uow.events.save(stored)
        await uow.commit()
    # One broadcast: 300 rows written by a single INSERT ... SELECT.
    await CancelEvent(scene.uow, SqlEventQueries(postgres_engine), scene.clock).execute(
        CancelEventCommand(
            actor=Principal(user_id=organizer.id, role=Role.ORGANIZER),
            event_id=event.id,
            reason="Snow",
        )
    )
    assert await scene.statuses() == {"pending": 300}

    small_batches = DeliveryPolicy(batch_size=7)
    engines = [create_database_engine(postgres_url) for _ in range(2)]
    try:
        workers = [
            DeliverNotifications(
                SqlOutboxQueue(each),
                smtp(relay),
                SqlUserQueries(each),
                SqlEventQueries(each),
                scene.clock,
                small_batches,
            )
            for each in engines
        ]
        first, second = await asyncio.gather(*(until_idle(w) for w in workers))
    finally:
        for each in engines:
            await each.dispose()

    sent_by = [sum(r.claimed for r in reports) for reports in (first, second)]
    assert sum(sent_by) == 300
    assert min(sent_by) > 0, "both workers took part"
    received = await relay.wait_for(300)
    counts = relay.per_message_id()
    assert len(received) == len(counts) == 300
    assert set(counts.values()) == {1}
    assert {r.message["X-Eventapi-Notification"] for r in received} == {"event_cancelled"}
    assert await scene.statuses() == {"sent": 300}


@pytest.mark.postgres
async def test_a_claim_skips_rows_another_transaction_holds_instead_of_waiting(
    postgres_engine: AsyncEngine, relay: MailServer
) -> None:
    scene = scene_for(postgres_engine)
    organizer = a_user(role=Role.ORGANIZER)
    event = an_event(organizer, capacity=10, starts_at=scene.clock.now() + timedelta(days=7))
    people = [a_user() for _ in range(10)]
    await scene.store(organizer, event, *people)
    register = RegisterForEvent(scene.uow, scene.clock, scene.ids)
    for person in people:
        await register.execute(
            RegisterForEventCommand(
                actor=Principal(user_id=person.id, role=Role.ATTENDEE), event_id=event.id
            )
        )
    async with postgres_engine.connect() as holder:
        held = await holder.execute(text("SELECT id FROM outbox ORDER BY id LIMIT 4 FOR UPDATE"))
        held_ids = {row[0] for row in held}
        async with asyncio.timeout(5):  # a claim that waited would hang here
            claimed = await scene.queue.claim(
                limit=100, now=scene.clock.now(), lease=POLICY.lease, max_attempts=3
            )
        await holder.rollback()
    assert len(claimed) == 6
    assert held_ids.isdisjoint(c.row_id for c in claimed)


async def test_temporary_refusals_back_off_then_dead_letter_and_can_be_revived(
    engine: AsyncEngine, relay: MailServer
) -> None:
    scene = scene_for(engine)
    organizer = a_user(role=Role.ORGANIZER)
    event = an_event(organizer, capacity=10, starts_at=scene.clock.now() + timedelta(days=7))
    busy, gone, fine = a_user(), a_user(), a_user()
    await scene.store(organizer, event, busy, gone, fine)
    register = RegisterForEvent(scene.uow, scene.clock, scene.ids)
    for person in (busy, gone, fine):
        await register.execute(
            RegisterForEventCommand(
                actor=Principal(user_id=person.id, role=Role.ATTENDEE), event_id=event.id
            )
        )
    relay.refuse = {
        str(busy.email): "451 4.3.0 try again later",
        str(gone.email): "550 5.1.1 no such user",
    }
    policy = DeliveryPolicy(
        max_attempts=3, first_retry=timedelta(seconds=10), longest_retry=timedelta(seconds=40)
    )
    worker = scene.worker(relay, policy)

    await until_idle(worker)
    assert await scene.statuses() == {"sent": 1, "failed": 1, "pending": 1}
    (dead,) = await scene.queue.failed(limit=10)
    assert dead.notification.recipient_id == gone.id
    assert "no such user" in dead.last_error and dead.attempts == 1

    # 451: retried after at most 10 s, then 20 s, then it is given up.
    for ceiling in (timedelta(seconds=10), timedelta(seconds=20)):
        scene.clock.advance(ceiling / 2 - timedelta(seconds=1))
        assert (await worker.execute()).claimed == 0, "not before the backoff"
        scene.clock.advance(ceiling / 2 + timedelta(seconds=1))
        assert (await worker.execute()).claimed == 1
    assert await scene.statuses() == {"sent": 1, "failed": 2}
    failed = await scene.queue.failed(limit=10)
    assert {f.notification.recipient_id: f.attempts for f in failed} == {gone.id: 1, busy.id: 3}

    relay.refuse = {}
    assert await scene.queue.retry_failed(None, now=scene.clock.now()) == 2
    await until_idle(worker)
    assert await scene.statuses() == {"sent": 3}
    assert sorted(r.recipients[0] for r in await relay.wait_for(3)) == sorted(
        str(p.email) for p in (busy, gone, fine)
    )
