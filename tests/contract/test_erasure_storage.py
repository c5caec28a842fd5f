"""What every storage backend must do for erasure (application/accounts.py:
erase_account): an erased account is a tombstone nobody finds, its address is free
again, and the queries erasure needs answer alike on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from application.ports.notifications import Notification, NotificationKind
from application.ports.queries import PageRequest, UserCriteria
from domain.event import EventStatus
from domain.registration import RegistrationStatus
from domain.users import ERASED_NAME, Role
from domain.values import EmailAddress
from tests.builders import NOW, a_registration, a_user, an_event, new_id
from tests.contract.backends import Backend
from tests.contract.test_repositories import store

LATER = NOW + timedelta(minutes=1)


async def test_an_erased_account_is_a_tombstone_nobody_finds(backend: Backend) -> None:
    user, other = a_user(email="ada@example.org"), a_user()
    await store(backend, user, other)
    async with backend.uow() as uow:
        loaded = await uow.users.get_for_update(user.id)
        assert loaded is not None
        loaded.erase(active_admins=0, now=LATER)
        await uow.users.save(loaded)
        await uow.commit()

    async with backend.uow() as uow:
        assert await uow.users.get(user.id) is None
        assert await uow.users.get_for_update(user.id) is None
        assert await uow.users.get_for_share(user.id) is None
        assert await uow.users.get_by_email(EmailAddress("ada@example.org")) is None
        assert await uow.users.get_by_email(loaded.email) is None
        assert await uow.users.get(other.id) == other
    assert await backend.users.get(user.id) is None
    listed = await backend.users.search(UserCriteria(), PageRequest(limit=10))
    assert [view.id for view in listed.items] == [other.id]
    named = await backend.users.search(UserCriteria(text=ERASED_NAME), PageRequest(limit=10))
    assert named.items == []


async def test_an_erased_address_may_sign_up_again(backend: Backend) -> None:
    user = a_user(email="ada@example.org")
    await store(backend, user)
    async with backend.uow() as uow:
        loaded = await uow.users.get(user.id)
        assert loaded is not None
        loaded.erase(active_admins=0, now=LATER)
        await uow.users.save(loaded)
        await uow.commit()
    again = a_user(email="ADA@example.org")

    await store(backend, again)

    async with backend.uow() as uow:
        assert await uow.users.get_by_email(EmailAddress("ada@example.org")) == again


async def test_the_tombstone_keeps_the_events_it_organised(backend: Backend) -> None:
    organizer = a_user(role=Role.ORGANIZER, name="Ada Lovelace")
    event = an_event(organizer, starts_at=NOW - timedelta(days=3))
    await store(backend, organizer, event)
    async with backend.uow() as uow:
        loaded = await uow.users.get(organizer.id)
        assert loaded is not None
        loaded.erase(active_admins=0, now=LATER)
        await uow.users.save(loaded)
        await uow.commit()

    view = await backend.events.get(event.id)
    assert view is not None
    assert (view.organizer.id, view.organizer.full_name) == (organizer.id, ERASED_NAME)


async def test_open_events_of_an_organizer(backend: Backend) -> None:
    organizer, other = a_user(role=Role.ORGANIZER), a_user(role=Role.ORGANIZER)
    upcoming = an_event(organizer)
    running = an_event(organizer, starts_at=NOW - timedelta(hours=1))
    draft = an_event(organizer, status=EventStatus.DRAFT, starts_at=NOW - timedelta(days=9))
    past = an_event(organizer, starts_at=NOW - timedelta(days=2))
    cancelled = an_event(organizer)
    cancelled.cancel("", NOW)
    theirs = an_event(other)
    await store(backend, organizer, other, upcoming, running, draft, past, cancelled, theirs)

    async with backend.uow() as uow:
        found = await uow.events.open_organized_by(organizer.id, ending_after=NOW)

    assert found == sorted([upcoming.id, running.id, draft.id])


async def test_every_registration_of_a_user(backend: Backend) -> None:
    organizer, guest, other = a_user(role=Role.ORGANIZER), a_user(), a_user()
    soon = an_event(organizer)
    over = an_event(organizer, starts_at=NOW - timedelta(days=2))
    regs = [
        a_registration(soon, guest),
        a_registration(over, guest, status=RegistrationStatus.WAITLISTED, ticket=1),
        a_registration(over, other),
    ]
    await store(backend, organizer, guest, other, soon, over, *regs)

    async with backend.uow() as uow:
        found = await uow.registrations.all_for_user(guest.id)

    assert sorted(r.id for r in found) == sorted([regs[0].id, regs[1].id])
    assert {r.id: r for r in found}[regs[1].id] == regs[1]


async def test_forgetting_a_recipient_deletes_every_message_to_them(backend: Backend) -> None:
    gone, staying = a_user(), a_user()
    await store(backend, gone, staying)
    notes = [
        Notification(
            cause_id=new_id(), kind=NotificationKind.WELCOME, recipient_id=user.id, created_at=NOW
        )
        for user in (gone, staying, gone)
    ]
    async with backend.uow() as uow:
        for note in notes:
            await uow.outbox.add(note)
        await uow.commit()

    async with backend.uow() as uow:
        await uow.outbox.forget_recipient(gone.id)
        await uow.commit()

    assert await backend.outbox() == [notes[1]]
