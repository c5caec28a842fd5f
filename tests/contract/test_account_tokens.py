"""Mailed account tokens (password reset, e-mail verification) are stored alike on
memory, SQLite and PostgreSQL: by digest only, single use, newest voids older;
the outbox forgets a mailed token once its row is settled; `email_verified` persists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.delivery import MemoryOutboxQueue
from adapters.memory.housekeeping import MemoryExpiredRecords
from adapters.memory.state import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWorkFactory
from adapters.sql.housekeeping import SqlExpiredRecords
from adapters.sql.outbox_queue import SqlOutboxQueue
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from application.ports.delivery import OutboxQueue
from application.ports.housekeeping import ExpiredRecords
from application.ports.notifications import Notification, NotificationKind
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.errors import InvalidToken
from domain.users import AccountToken, TokenPurpose, User
from tests.builders import NOW, a_user, new_id
from tests.contract.backends import Backend

RESET = TokenPurpose.PASSWORD_RESET
VERIFY = TokenPurpose.EMAIL_VERIFICATION


def a_token(user: User, digest: str, purpose: TokenPurpose = RESET) -> AccountToken:
    return AccountToken(
        digest=digest,
        user_id=user.id,
        purpose=purpose,
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=30),
    )


async def stored(backend: Backend, user: User, *tokens: AccountToken) -> None:
    async with backend.uow() as uow:
        await uow.users.add(user)
        for token in tokens:
            await uow.account_tokens.add(token)
        await uow.commit()


async def test_tokens_round_trip_by_digest_and_are_spent_once(backend: Backend) -> None:
    user = a_user()
    token = a_token(user, "d" * 64)
    await stored(backend, user, token)
    async with backend.uow() as uow:
        loaded = await uow.account_tokens.find("d" * 64)
        assert loaded == token
        assert await uow.account_tokens.find("e" * 64) is None
        loaded.redeem(RESET, NOW + timedelta(minutes=1))
        await uow.account_tokens.save(loaded)
        await uow.commit()
    async with backend.uow() as uow:
        again = await uow.account_tokens.find("d" * 64)
        assert again is not None
        assert again.used_at == NOW + timedelta(minutes=1)
        with pytest.raises(InvalidToken):
            again.redeem(RESET, NOW + timedelta(minutes=2))


async def test_a_token_is_not_kept_without_commit(backend: Backend) -> None:
    user = a_user()
    await stored(backend, user)
    async with backend.uow() as uow:
        await uow.account_tokens.add(a_token(user, "uncommitted"))
    async with backend.uow() as uow:
        assert await uow.account_tokens.find("uncommitted") is None


async def test_discarding_voids_one_purpose_of_one_account(backend: Backend) -> None:
    user, other = a_user(), a_user()
    await stored(backend, user, a_token(user, "reset-1"), a_token(user, "verify-1", VERIFY))
    async with backend.uow() as uow:
        await uow.users.add(other)
        await uow.account_tokens.add(a_token(other, "reset-other"))
        await uow.account_tokens.discard_for_user(user.id, RESET)
        await uow.account_tokens.add(a_token(user, "reset-2"))
        await uow.commit()
    async with backend.uow() as uow:
        found = {
            digest: await uow.account_tokens.find(digest) is not None
            for digest in ("reset-1", "reset-2", "verify-1", "reset-other")
        }
    assert found == {"reset-1": False, "reset-2": True, "verify-1": True, "reset-other": True}


async def test_email_verified_persists(backend: Backend) -> None:
    user = a_user()
    await stored(backend, user)
    async with backend.uow() as uow:
        loaded = await uow.users.get_for_update(user.id)
        assert loaded is not None
        assert loaded.email_verified is False
        loaded.verify_email(NOW)
        await uow.users.save(loaded)
        await uow.commit()
    async with backend.uow() as uow:
        again = await uow.users.get(user.id)
    assert again is not None
    assert again.email_verified is True
    view = await backend.users.get(user.id)
    assert view is not None
    assert view.email_verified is True


@dataclass(frozen=True)
class Worker:
    uow: UnitOfWorkFactory
    queue: OutboxQueue
    records: ExpiredRecords


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def worker(request: pytest.FixtureRequest) -> Worker:
    if request.param == "memory":
        store = MemoryStore()
        queue = MemoryOutboxQueue(store)
        return Worker(MemoryUnitOfWorkFactory(store), queue, MemoryExpiredRecords(store, queue))
    engine: AsyncEngine = request.getfixturevalue(f"{request.param}_engine")
    return Worker(SqlUnitOfWorkFactory(engine), SqlOutboxQueue(engine), SqlExpiredRecords(engine))


async def test_expired_tokens_are_purged_in_batches_live_ones_stay(worker: Worker) -> None:
    user = a_user()
    expired = [
        AccountToken(
            digest=f"expired-{i}",
            user_id=user.id,
            purpose=VERIFY if i % 2 else RESET,
            created_at=NOW - timedelta(days=3),
            expires_at=NOW - timedelta(minutes=i + 1),
            used_at=NOW - timedelta(days=2) if i == 0 else None,
        )
        for i in range(3)
    ]
    live = a_token(user, "live")
    async with worker.uow() as uow:
        await uow.users.add(user)
        for token in (*expired, live):
            await uow.account_tokens.add(token)
        await uow.commit()

    purged = [
        await worker.records.purge_expired_account_tokens(expired_before=NOW, limit=2)
        for _ in range(3)
    ]

    assert purged == [2, 1, 0]
    async with worker.uow(read_only=True) as uow:
        assert [await uow.account_tokens.find(t.digest) for t in expired] == [None] * 3
        assert await uow.account_tokens.find("live") == live


@pytest.mark.parametrize("outcome", ["sent", "skipped", "dead-lettered"])
async def test_a_settled_row_no_longer_holds_the_mailed_token(worker: Worker, outcome: str) -> None:
    user = a_user()
    details = {"token": "raw-secret-token", "expires_at": (NOW + timedelta(minutes=30)).isoformat()}
    kept = {"expires_at": details["expires_at"]}
    async with worker.uow() as uow:
        await uow.users.add(user)
        await uow.outbox.add(
            Notification(
                cause_id=new_id(),
                kind=NotificationKind.PASSWORD_RESET,
                recipient_id=user.id,
                created_at=NOW,
                details=details,
            )
        )
        await uow.commit()
    lease = timedelta(minutes=5)
    [claimed] = await worker.queue.claim(limit=5, now=NOW, lease=lease, max_attempts=3)
    assert claimed.notification.details == details  # the worker gets the token to mail
    if outcome == "sent":
        assert await worker.queue.mark_sent(claimed, now=NOW)
    elif outcome == "skipped":
        assert await worker.queue.mark_skipped(claimed, now=NOW, reason="expired")
    else:
        assert await worker.queue.dead_letter(claimed, error="refused")
    # A revived dead letter (or any later read) finds the details without the token.
    await worker.queue.retry_failed(None, now=NOW)
    again = await worker.queue.claim(limit=5, now=NOW, lease=lease, max_attempts=3)
    if outcome == "dead-lettered":
        assert [each.notification.details for each in again] == [kept]
    else:
        assert again == []
        failed = await worker.queue.failed(limit=5)
        assert failed == []


async def test_a_row_retried_later_keeps_its_token_until_settled(worker: Worker) -> None:
    user = a_user()
    details = {"token": "raw-secret-token", "expires_at": (NOW + timedelta(minutes=30)).isoformat()}
    async with worker.uow() as uow:
        await uow.users.add(user)
        await uow.outbox.add(
            Notification(
                cause_id=new_id(),
                kind=NotificationKind.EMAIL_VERIFICATION,
                recipient_id=user.id,
                created_at=NOW,
                details=details,
            )
        )
        await uow.commit()
    lease = timedelta(minutes=5)
    [claimed] = await worker.queue.claim(limit=5, now=NOW, lease=lease, max_attempts=3)
    assert await worker.queue.retry_later(claimed, at=NOW, error="relay down")
    [again] = await worker.queue.claim(limit=5, now=NOW, lease=lease, max_attempts=3)
    assert again.notification.details == details
