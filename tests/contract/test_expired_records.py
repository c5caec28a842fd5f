"""ExpiredRecords behaves alike on memory, SQLite and PostgreSQL: old sent notifications,
expired sessions and idempotency keys past their day go, a batch at a time; pending rows,
dead letters, recent mail, live sessions and recent keys stay."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.delivery import MemoryOutboxQueue
from adapters.memory.fakes import FixedClock
from adapters.memory.housekeeping import MemoryExpiredRecords
from adapters.memory.idempotency import MemoryIdempotencyStore
from adapters.memory.state import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWorkFactory
from adapters.sql.housekeeping import SqlExpiredRecords
from adapters.sql.idempotency import SqlIdempotencyStore
from adapters.sql.outbox_queue import SqlOutboxQueue
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from application.ports.delivery import OutboxQueue
from application.ports.housekeeping import ExpiredRecords
from application.ports.idempotency import Claimed, IdempotencyStore, Replay, StoredResponse
from application.ports.notifications import Notification, NotificationKind
from application.ports.unit_of_work import UnitOfWorkFactory
from application.ports.webhook_endpoints import WebhookAttempt
from application.use_cases.purge_expired_records import PurgeExpiredRecords
from domain.users import AuthSession, Role
from domain.webhooks import Webhook
from tests.builders import NOW, a_session, a_user, new_id

LEASE = timedelta(minutes=5)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Store:
    uow: UnitOfWorkFactory
    queue: OutboxQueue
    records: ExpiredRecords
    keys: IdempotencyStore


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "memory":
        memory = MemoryStore()
        queue = MemoryOutboxQueue(memory)
        return Store(
            MemoryUnitOfWorkFactory(memory),
            queue,
            MemoryExpiredRecords(memory, queue),
            MemoryIdempotencyStore(memory),
        )
    engine: AsyncEngine = request.getfixturevalue(f"{request.param}_engine")
    return Store(
        SqlUnitOfWorkFactory(engine),
        SqlOutboxQueue(engine),
        SqlExpiredRecords(engine),
        SqlIdempotencyStore(engine),
    )


async def test_sent_notifications_go_after_the_cutoff_in_batches(store: Store) -> None:
    user = a_user()
    async with store.uow() as uow:
        await uow.users.add(user)
        for i in range(7):
            await uow.outbox.add(
                Notification(
                    cause_id=new_id(),
                    kind=NotificationKind.WELCOME,
                    recipient_id=user.id,
                    created_at=NOW + timedelta(seconds=i),
                )
            )
        await uow.commit()
    claimed = await store.queue.claim(limit=10, now=NOW + DAY, lease=LEASE, max_attempts=3)
    old_sent, old_skipped, recent, pending, dead, retrying, also_old = claimed
    for item in (old_sent, also_old):
        assert await store.queue.mark_sent(item, now=NOW + DAY)
    assert await store.queue.mark_skipped(old_skipped, now=NOW + DAY, reason="closed")
    assert await store.queue.mark_sent(recent, now=NOW + 20 * DAY)
    assert await store.queue.release(pending, now=NOW + DAY)
    assert await store.queue.dead_letter(dead, error="550 no such user")
    assert await store.queue.retry_later(retrying, at=NOW + 2 * DAY, error="421 busy")

    cutoff = NOW + 10 * DAY
    assert await store.records.purge_sent_notifications(sent_before=cutoff, limit=2) == 2
    assert await store.records.purge_sent_notifications(sent_before=cutoff, limit=2) == 1
    assert await store.records.purge_sent_notifications(sent_before=cutoff, limit=2) == 0

    # What was not old and sent is all still there, and still works.
    (failed,) = await store.queue.failed(limit=10)
    assert failed.row_id == dead.row_id
    due = await store.queue.claim(limit=10, now=NOW + 3 * DAY, lease=LEASE, max_attempts=3)
    assert [item.row_id for item in due] == [pending.row_id, retrying.row_id]
    assert await store.queue.retry_failed(None, now=NOW) == 1
    # The recent one goes once it is old enough.
    later = NOW + 40 * DAY
    assert await store.records.purge_sent_notifications(sent_before=later, limit=10) == 1


async def test_expired_sessions_go_with_their_refresh_tokens(store: Store) -> None:
    user = a_user()
    expired = [
        replace(a_session(user, f"expired-{i}"), expires_at=NOW - timedelta(hours=i + 1))
        for i in range(3)
    ]
    revoked_live = replace(a_session(user, "revoked-live"), revoked_at=NOW - DAY)
    live = a_session(user, "live")
    expired[0].spent_digests = {"spent-0a", "spent-0b"}
    live.spent_digests = {"spent-live"}
    async with store.uow() as uow:
        await uow.users.add(user)
        for session in (*expired, revoked_live, live):
            await uow.sessions.add(session)
        await uow.commit()

    assert await store.records.purge_expired_sessions(expired_before=NOW, limit=2) == 2
    assert await store.records.purge_expired_sessions(expired_before=NOW, limit=2) == 1
    assert await store.records.purge_expired_sessions(expired_before=NOW, limit=2) == 0

    async with store.uow(read_only=True) as uow:
        for session in expired:
            assert await uow.sessions.get(session.id) is None
        assert await uow.sessions.find_by_token("spent-0a") is None
        assert await uow.sessions.find_by_token("expired-0") is None
        kept: AuthSession | None = await uow.sessions.get(live.id)
        assert kept is not None
        assert kept.spent_digests == {"spent-live"}
        found = await uow.sessions.find_by_token("spent-live")
        assert found is not None
        assert found.id == live.id
        assert await uow.sessions.get(revoked_live.id) is not None


async def test_the_purge_forgets_idempotency_keys_after_a_day(store: Store) -> None:
    """The use case the worker runs: keys (answered or still claimed) go 24 h after
    their first use, a batch at a time; younger ones keep replaying."""
    answer = StoredResponse(201, (("content-type", "application/json"),), b'{"id":"x"}')
    for i in range(3):
        claim = await store.keys.claim("user:a", f"old-{i}", "f", now=NOW)
        assert isinstance(claim, Claimed)
        if i:
            assert await store.keys.complete("user:a", f"old-{i}", claim.token, answer)
    young = await store.keys.claim("user:a", "young", "f", now=NOW + DAY / 2)
    assert isinstance(young, Claimed)
    assert await store.keys.complete("user:a", "young", young.token, answer)
    clock = FixedClock(NOW + DAY + timedelta(seconds=1))
    purge = PurgeExpiredRecords(store.records, clock, retention=DAY, batch_size=2)

    first = await purge.execute()
    assert (first.idempotency_keys, first.more) == (2, True)
    second = await purge.execute()
    assert (second.idempotency_keys, second.more) == (1, False)
    assert (await purge.execute()).idempotency_keys == 0
    assert await store.keys.claim("user:a", "young", "f", now=clock.now()) == Replay(answer)


async def test_webhook_delivery_logs_go_after_the_retention_in_batches(store: Store) -> None:
    owner = a_user(role=Role.ORGANIZER)
    hook = Webhook(
        id=new_id(),
        owner_id=owner.id,
        url="https://hooks.example.org/in",
        event_types=("event.published",),
        description="",
        secret="whsec_" + "A" * 32,
        created_at=NOW,
    )

    def attempt(at_minutes: int) -> WebhookAttempt:
        return WebhookAttempt(
            id=new_id(),
            webhook_id=hook.id,
            message_id="msg_1",
            event_type="event.published",
            attempt=1,
            status="delivered",
            response_status=204,
            at=NOW + timedelta(minutes=at_minutes),
            next_attempt_at=None,
        )

    old, recent = [attempt(m) for m in (0, 1, 2)], attempt(24 * 60 + 10)
    async with store.uow() as uow:
        await uow.users.add(owner)
        await uow.webhooks.add(hook)
        for each in (*old, recent):
            await uow.webhooks.record_attempt(each)
        await uow.commit()
    clock = FixedClock(NOW + DAY + timedelta(minutes=5))
    purge = PurgeExpiredRecords(store.records, clock, retention=DAY, batch_size=2)
    first = await purge.execute()
    assert (first.webhook_attempts, first.more) == (2, True)
    assert (await purge.execute()).webhook_attempts == 1
    assert (await purge.execute()).webhook_attempts == 0
    async with store.uow() as uow:
        assert await uow.webhooks.attempts(hook.id, limit=10, after=None) == [recent]
