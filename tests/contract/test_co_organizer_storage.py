"""What every storage backend must do with co-organizers, alike on memory, SQLite and
PostgreSQL: rows per (event, user), listed with names in the order added, gone
with their event or their user, and not kept by a rolled-back unit of work."""

from __future__ import annotations

from datetime import timedelta

from domain.event import CoOrganizer
from domain.users import Role
from tests.builders import NOW, a_user, an_event
from tests.contract.backends import Backend
from tests.contract.test_repositories import store

LATER = NOW + timedelta(minutes=1)


async def test_rows_are_stored_listed_in_order_and_removed(backend: Backend) -> None:
    owner = a_user(role=Role.ORGANIZER)
    first = a_user(role=Role.ORGANIZER, name="Grace Hopper")
    second = a_user(role=Role.ADMIN, name="Ada Lovelace")
    event, other_event = an_event(owner), an_event(owner)
    await store(backend, owner, first, second, event, other_event)

    async with backend.uow() as uow:
        await uow.co_organizers.add(
            CoOrganizer(event_id=event.id, user_id=second.id, added_at=LATER, added_by=owner.id)
        )
        await uow.co_organizers.add(
            CoOrganizer(event_id=event.id, user_id=first.id, added_at=NOW, added_by=owner.id)
        )
        await uow.co_organizers.add(
            CoOrganizer(event_id=other_event.id, user_id=first.id, added_at=NOW, added_by=owner.id)
        )
        await uow.commit()

    async with backend.uow() as uow:
        assert await uow.co_organizers.user_ids(event.id) == {first.id, second.id}
        assert await uow.co_organizers.user_ids(owner.id) == frozenset()
    listed = await backend.events.co_organizers(event.id)
    assert [(c.user.id, c.user.full_name, c.added_at) for c in listed] == [
        (first.id, "Grace Hopper", NOW),
        (second.id, "Ada Lovelace", LATER),
    ]

    async with backend.uow() as uow:
        await uow.co_organizers.remove(event.id, first.id)
        await uow.commit()

    async with backend.uow() as uow:
        assert await uow.co_organizers.user_ids(event.id) == {second.id}
        assert await uow.co_organizers.user_ids(other_event.id) == {first.id}


async def test_a_rolled_back_add_leaves_nothing(backend: Backend) -> None:
    owner, co = a_user(role=Role.ORGANIZER), a_user(role=Role.ORGANIZER)
    event = an_event(owner)
    await store(backend, owner, co, event)

    async with backend.uow() as uow:
        await uow.co_organizers.add(
            CoOrganizer(event_id=event.id, user_id=co.id, added_at=NOW, added_by=owner.id)
        )

    assert await backend.events.co_organizers(event.id) == []


async def test_rows_go_with_their_event_and_with_their_user(backend: Backend) -> None:
    owner, co, kept = (a_user(role=Role.ORGANIZER) for _ in range(3))
    event, other_event = an_event(owner), an_event(owner)
    await store(backend, owner, co, kept, event, other_event)
    async with backend.uow() as uow:
        for target in (event, other_event):
            for user in (co, kept):
                await uow.co_organizers.add(
                    CoOrganizer(
                        event_id=target.id, user_id=user.id, added_at=NOW, added_by=owner.id
                    )
                )
        await uow.commit()

    async with backend.uow() as uow:
        loaded = await uow.events.get_for_update(event.id)
        assert loaded is not None
        await uow.events.delete(loaded)
        await uow.co_organizers.remove_user(co.id)
        await uow.commit()

    async with backend.uow() as uow:
        assert await uow.co_organizers.user_ids(event.id) == frozenset()
        assert await uow.co_organizers.user_ids(other_event.id) == {kept.id}
    assert await backend.events.co_organizers(event.id) == []
