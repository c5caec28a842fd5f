"""`InvalidatingUnitOfWorkFactory`: what a committed unit of work tells the read cache.

Over the memory unit of work, with a cache that records every invalidation:
event writes name their events, changes readers see on an account invalidate
everything, other account writes and rolled-back work invalidate nothing, and
the cache hears of a change only once `commit()` has succeeded.
"""

from __future__ import annotations

from adapters.memory.state import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWorkFactory
from application.ports.read_cache import CachedResponse, Lookup, ReadCache, ReadChanges, ReadKey
from application.read_cache import InvalidatingUnitOfWorkFactory
from tests.builders import NOW, a_user, an_event


class RecordingCache(ReadCache):
    ttl_seconds = 30

    def __init__(self) -> None:
        self.invalidations: list[ReadChanges] = []

    async def lookup(self, key: ReadKey) -> Lookup:
        return Lookup(key, usable=False)

    async def store(self, lookup: Lookup, response: CachedResponse) -> None:
        raise AssertionError("nothing is stored here")

    async def invalidate(self, changes: ReadChanges) -> None:
        self.invalidations.append(changes)


def factory() -> tuple[InvalidatingUnitOfWorkFactory, RecordingCache]:
    cache = RecordingCache()
    return InvalidatingUnitOfWorkFactory(MemoryUnitOfWorkFactory(MemoryStore()), cache), cache


async def test_event_writes_invalidate_their_events_after_the_commit() -> None:
    uow_factory, cache = factory()
    organizer = a_user()
    kept, dropped = an_event(organizer), an_event(organizer)
    async with uow_factory() as uow:
        await uow.users.add(organizer)
        await uow.events.add(kept)
        await uow.events.add(dropped)
        assert cache.invalidations == []  # not before the commit
        await uow.commit()
    assert cache.invalidations == [ReadChanges(event_ids={kept.id, dropped.id})]

    async with uow_factory() as uow:
        event = await uow.events.get_for_update(kept.id)
        assert event is not None
        await uow.events.save(event)
        gone = await uow.events.get(dropped.id)
        assert gone is not None
        gone.delete(NOW)
        await uow.events.delete(gone)
        await uow.commit()
    assert cache.invalidations[1:] == [ReadChanges(event_ids={kept.id, dropped.id})]


async def test_work_that_is_not_committed_invalidates_nothing() -> None:
    uow_factory, cache = factory()
    organizer = a_user()
    async with uow_factory() as uow:
        await uow.users.add(organizer)
        await uow.events.add(an_event(organizer))
    assert cache.invalidations == []


async def test_a_rename_or_a_closure_invalidates_everything_other_saves_nothing() -> None:
    uow_factory, cache = factory()
    user = a_user(name="Ada Lovelace")
    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.commit()
    assert cache.invalidations == []  # a new account organizes nothing yet

    async with uow_factory() as uow:
        found = await uow.users.get(user.id)
        assert found is not None
        found.set_password_hash("$2b$04$another", NOW)
        await uow.users.save(found)
        await uow.commit()
    assert cache.invalidations == []

    async with uow_factory() as uow:
        found = await uow.users.get(user.id)
        assert found is not None
        found.rename("Ada King", NOW)
        await uow.users.save(found)
        await uow.commit()
    assert cache.invalidations == [ReadChanges(everything=True)]

    async with uow_factory() as uow:
        found = await uow.users.get_for_update(user.id)
        assert found is not None
        found.deactivate(active_admins=0, now=NOW)
        await uow.users.save(found)
        await uow.commit()
    assert cache.invalidations == [ReadChanges(everything=True)] * 2
