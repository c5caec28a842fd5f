"""The audit log on every backend: written by the unit of work's fact hand-off in the
transaction of the change, with the actor of the context; read newest first by
keyset pages; never touched by the purge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.actor_context import ACTORS
from adapters.memory.delivery import MemoryOutboxQueue
from adapters.memory.housekeeping import MemoryExpiredRecords
from adapters.memory.queries import MemoryAuditQueries
from adapters.memory.state import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWorkFactory
from adapters.sql.audit import SqlAuditQueries
from adapters.sql.housekeeping import SqlExpiredRecords
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from application.ports.audit import Actor, AuditCriteria, AuditEntry, AuditQueries
from application.ports.housekeeping import ExpiredRecords
from application.ports.queries import Keyset, PageRequest
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.domain_events import SignInFailed, SignInRefusal
from domain.errors import InvalidValue
from domain.users import Role
from tests.builders import NOW, a_user, new_id

LATER = NOW + timedelta(hours=1)
ADMIN_AT = Actor(user_id=UUID("01900000-0000-7000-8000-0000000000ad"), ip="192.0.2.7")


@dataclass(frozen=True)
class Store:
    uow: UnitOfWorkFactory
    audit: AuditQueries
    records: ExpiredRecords


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "memory":
        memory = MemoryStore()
        records = MemoryExpiredRecords(memory, MemoryOutboxQueue(memory))
        return Store(MemoryUnitOfWorkFactory(memory), MemoryAuditQueries(memory), records)
    engine: AsyncEngine = request.getfixturevalue(f"{request.param}_engine")
    return Store(SqlUnitOfWorkFactory(engine), SqlAuditQueries(engine), SqlExpiredRecords(engine))


async def everything(store: Store, criteria: AuditCriteria | None = None) -> list[AuditEntry]:
    page = await store.audit.search(criteria or AuditCriteria(), PageRequest(limit=100))
    return page.items


async def promote(store: Store, user_id: UUID, *, commit: bool) -> None:
    async with store.uow() as uow:
        user = await uow.users.get(user_id)
        assert user is not None
        user.change_role(Role.ORGANIZER, active_admins=1, now=LATER)
        await uow.users.save(user)
        if commit:
            await uow.commit()


async def test_a_change_is_audited_with_the_actor_of_the_context(store: Store) -> None:
    user = a_user()
    async with store.uow() as uow:
        await uow.users.add(user)
        await uow.commit()

    with ACTORS.acting(ADMIN_AT):
        await promote(store, user.id, commit=True)

    [entry] = await everything(store)
    assert entry.at == LATER
    assert (entry.actor_id, entry.ip) == (ADMIN_AT.user_id, ADMIN_AT.ip)
    assert (entry.action, entry.subject_type, entry.subject_id) == (
        "user.role_changed",
        "user",
        user.id,
    )
    assert entry.details == {"from": "attendee", "to": "organizer"}


async def test_a_change_rolled_back_leaves_no_entry(store: Store) -> None:
    user = a_user()
    async with store.uow() as uow:
        await uow.users.add(user)
        await uow.commit()

    await promote(store, user.id, commit=False)

    assert await everything(store) == []


async def test_outside_any_request_nobody_acted_from_nowhere(store: Store) -> None:
    user = a_user()
    async with store.uow() as uow:
        await uow.users.add(user)
        await uow.commit()

    await promote(store, user.id, commit=True)  # as the CLI would

    [entry] = await everything(store)
    assert (entry.actor_id, entry.ip) == (None, None)


async def test_a_fact_of_no_aggregate_is_recorded_with_its_unit_of_work(store: Store) -> None:
    failed = SignInFailed(occurred_at=NOW, user_id=None, reason=SignInRefusal.UNKNOWN_ACCOUNT)
    async with store.uow() as uow:
        await uow.record(failed)  # and no commit
    assert await everything(store) == []

    async with store.uow() as uow:
        await uow.record(failed)
        await uow.commit()

    [entry] = await everything(store)
    assert (entry.action, entry.subject_type, entry.subject_id) == (
        "auth.sign_in_failed",
        None,
        None,
    )
    assert entry.details == {"reason": "unknown_account"}


async def record_failures(store: Store, moments: list[int], actor: Actor) -> None:
    with ACTORS.acting(actor):
        async with store.uow() as uow:
            for minutes in moments:
                await uow.record(
                    SignInFailed(
                        occurred_at=NOW + timedelta(minutes=minutes),
                        user_id=actor.user_id,
                        reason=SignInRefusal.WRONG_PASSWORD,
                    )
                )
            await uow.commit()


async def test_pages_run_newest_first_through_ties(store: Store) -> None:
    someone = Actor(user_id=new_id(), ip="2001:db8::1")
    await record_failures(store, [0, 1, 1, 1, 2, 3, 3], someone)

    seen: list[AuditEntry] = []
    after: Keyset | None = None
    for _ in range(10):
        page = await store.audit.search(AuditCriteria(), PageRequest(limit=2, after=after))
        seen += page.items
        after = page.next
        if after is None:
            break

    assert len(seen) == 7
    assert len({entry.id for entry in seen}) == 7
    keys = [(entry.at, entry.id) for entry in seen]
    assert keys == sorted(keys, reverse=True)


async def test_filters_narrow_by_actor_subject_action_and_time(store: Store) -> None:
    one, two = Actor(user_id=new_id(), ip="192.0.2.1"), Actor(user_id=new_id(), ip="192.0.2.2")
    await record_failures(store, [0, 10, 20], one)
    await record_failures(store, [5, 15], two)

    def minutes(entries: list[AuditEntry]) -> list[int]:
        return [int((entry.at - NOW).total_seconds() // 60) for entry in entries]

    assert minutes(await everything(store)) == [20, 15, 10, 5, 0]
    assert minutes(await everything(store, AuditCriteria(actor_id=one.user_id))) == [20, 10, 0]
    assert minutes(await everything(store, AuditCriteria(subject_id=two.user_id))) == [15, 5]
    assert await everything(store, AuditCriteria(action="user.deactivated")) == []
    assert len(await everything(store, AuditCriteria(action="auth.sign_in_failed"))) == 5
    window = AuditCriteria(
        since=NOW + timedelta(minutes=5), until=NOW + timedelta(minutes=15)
    )  # since inclusive, until exclusive
    assert minutes(await everything(store, window)) == [10, 5]
    both = AuditCriteria(actor_id=two.user_id, since=NOW + timedelta(minutes=6))
    assert minutes(await everything(store, both)) == [15]


async def test_a_cursor_of_another_listing_is_refused(store: Store) -> None:
    foreign = PageRequest(limit=5, after=Keyset(sort_value=1200, id=new_id()))
    with pytest.raises(InvalidValue):
        await store.audit.search(AuditCriteria(), foreign)


def test_criteria_refuse_an_empty_window() -> None:
    with pytest.raises(InvalidValue, match="until"):
        AuditCriteria(since=LATER, until=NOW)
    with pytest.raises(InvalidValue, match="action"):
        AuditCriteria(action="x" * 65)


async def test_the_purge_never_touches_the_log(store: Store) -> None:
    await record_failures(store, [0, 1], Actor())
    far_future = NOW + timedelta(days=365 * 100)

    await store.records.purge_sent_notifications(sent_before=far_future, limit=100)
    await store.records.purge_expired_sessions(expired_before=far_future, limit=100)

    assert len(await everything(store)) == 2
