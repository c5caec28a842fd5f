"""A reminder waiting for its time is planned work, not a backlog: /metrics' pending
count and age, and `eventapi outbox`, tell scheduled rows apart (SqlOutboxReader)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.outbox import SqlOutboxReader
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from application.ports.notifications import Notification, NotificationKind
from tests.builders import NOW, a_user, new_id


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> AsyncEngine:
    found: AsyncEngine = request.getfixturevalue(f"{request.param}_engine")
    return found


async def test_scheduled_rows_are_counted_apart_until_they_are_due(engine: AsyncEngine) -> None:
    user = a_user()
    due_later = NOW + timedelta(days=3)
    welcome = Notification(
        cause_id=new_id(), kind=NotificationKind.WELCOME, recipient_id=user.id, created_at=NOW
    )
    reminder = Notification(
        cause_id=new_id(),
        kind=NotificationKind.REMINDER,
        recipient_id=user.id,
        created_at=NOW - timedelta(days=30),  # written long ago: not a sign of a stuck worker
        due_at=due_later,
    )
    async with SqlUnitOfWorkFactory(engine)() as uow:
        await uow.users.add(user)
        await uow.outbox.add(welcome)
        await uow.outbox.add(reminder)
        await uow.commit()
    reader = SqlOutboxReader(engine)

    now = NOW + timedelta(minutes=2)
    backlog = await reader.backlog(now)
    assert (backlog.pending, backlog.scheduled, backlog.failed) == (1, 1, 0)
    assert backlog.oldest_pending_at == NOW
    listing = await reader.newest(10, now=now)
    assert [m.status for m in listing.messages] == ["scheduled", "pending"]

    # Once due, it is pending, and its age counts from its due time.
    later = due_later + timedelta(seconds=5)
    backlog = await reader.backlog(later)
    assert (backlog.pending, backlog.scheduled) == (2, 0)
    assert backlog.oldest_pending_at == NOW
    listing = await reader.newest(10, now=later)
    assert [m.status for m in listing.messages] == ["pending", "pending"]


async def test_a_due_reminder_ages_from_its_due_time(engine: AsyncEngine) -> None:
    user = a_user()
    due = NOW + timedelta(days=3)
    reminder = Notification(
        cause_id=new_id(),
        kind=NotificationKind.REMINDER,
        recipient_id=user.id,
        created_at=NOW,
        due_at=due,
    )
    async with SqlUnitOfWorkFactory(engine)() as uow:
        await uow.users.add(user)
        await uow.outbox.add(reminder)
        await uow.commit()

    backlog = await SqlOutboxReader(engine).backlog(due + timedelta(seconds=30))

    assert (backlog.pending, backlog.oldest_pending_at) == (1, due)
