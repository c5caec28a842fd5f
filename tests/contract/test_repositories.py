"""What every storage backend must do with aggregates, inside units of work."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.errors import AlreadyRegistered, EmailTaken
from domain.event import Event, EventStatus
from domain.registration import Registration, RegistrationStatus
from domain.users import Role, User
from domain.values import Coordinates, EmailAddress
from tests.builders import NOW, a_registration, a_session, a_user, an_event
from tests.contract.backends import Backend

WAITLISTED = RegistrationStatus.WAITLISTED


async def store(backend: Backend, *items: User | Event | Registration) -> None:
    async with backend.uow() as uow:
        for item in items:
            if isinstance(item, User):
                await uow.users.add(item)
            elif isinstance(item, Event):
                await uow.events.add(item)
            else:
                await uow.registrations.add(item)
        await uow.commit()


async def test_nothing_is_kept_without_commit(backend: Backend) -> None:
    user = a_user()
    async with backend.uow() as uow:
        await uow.users.add(user)
    async with backend.uow() as uow:
        assert await uow.users.get(user.id) is None


async def test_an_error_inside_the_unit_of_work_rolls_back(backend: Backend) -> None:
    user = a_user()
    with pytest.raises(RuntimeError):
        async with backend.uow() as uow:
            await uow.users.add(user)
            raise RuntimeError("boom")
    async with backend.uow() as uow:
        assert await uow.users.get(user.id) is None


async def test_users_round_trip_and_emails_are_unique_case_insensitively(backend: Backend) -> None:
    user = a_user(email="Ada@Example.org", role=Role.ORGANIZER)
    await store(backend, user)
    async with backend.uow() as uow:
        assert await uow.users.get(user.id) == user
        assert await uow.users.get_by_email(EmailAddress("ADA@example.ORG")) == user
        with pytest.raises(EmailTaken):
            await uow.users.add(a_user(email="ada@EXAMPLE.org"))


async def test_saved_user_changes_persist(backend: Backend) -> None:
    user = a_user()
    await store(backend, user)
    async with backend.uow() as uow:
        loaded = await uow.users.get(user.id)
        assert loaded is not None
        loaded.rename("Grace Brewster Hopper", NOW + timedelta(minutes=1))
        loaded.change_role(Role.ADMIN, active_admins=0, now=NOW + timedelta(minutes=1))
        await uow.users.save(loaded)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.users.get(user.id) == loaded


async def test_active_admins_are_counted(backend: Backend) -> None:
    admins = [a_user(role=Role.ADMIN) for _ in range(3)]
    admins[2].is_active = False
    await store(backend, *admins, a_user(role=Role.ORGANIZER))
    async with backend.uow() as uow:
        assert await uow.users.lock_active_admins() == 2


async def test_events_round_trip_with_every_field(backend: Backend) -> None:
    organizer = a_user(role=Role.ORGANIZER)
    event = an_event(organizer, coordinates=Coordinates(52.5128, 13.4203))
    event.attendee_count, event.waitlist_count, event.tickets_issued = 3, 0, 0
    event.sequence, event.revision, event.cancel_reason = 2, 7, ""
    await store(backend, organizer, event)
    async with backend.uow() as uow:
        assert await uow.events.get(event.id) == event
        assert await uow.events.get_for_update(event.id) == event


async def test_saved_event_changes_persist(backend: Backend) -> None:
    organizer = a_user(role=Role.ORGANIZER)
    event = an_event(organizer)
    await store(backend, organizer, event)
    async with backend.uow() as uow:
        loaded = await uow.events.get_for_update(event.id)
        assert loaded is not None
        loaded.revise(now=NOW + timedelta(hours=1), title="Renamed", description="<b>new</b>")
        loaded.cancel("venue flooded", NOW + timedelta(hours=2))
        await uow.events.save(loaded)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.events.get(event.id) == loaded


async def test_deleting_an_event_deletes_its_registrations(backend: Backend) -> None:
    organizer, guest = a_user(role=Role.ORGANIZER), a_user()
    event = an_event(organizer)
    registration = a_registration(event, guest)
    await store(backend, organizer, guest, event, registration)
    async with backend.uow() as uow:
        await uow.events.delete(event)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.events.get(event.id) is None
        assert await uow.registrations.get(registration.id) is None


async def test_one_registration_per_user_and_event(backend: Backend) -> None:
    organizer, guest = a_user(role=Role.ORGANIZER), a_user()
    event = an_event(organizer)
    registration = a_registration(event, guest)
    await store(backend, organizer, guest, event, registration)
    async with backend.uow() as uow:
        assert await uow.registrations.get(registration.id) == registration
        assert await uow.registrations.find(event.id, guest.id) == registration
        assert await uow.registrations.find(event.id, organizer.id) is None
        with pytest.raises(AlreadyRegistered):
            await uow.registrations.add(a_registration(event, guest))


async def test_waitlist_head_is_in_ticket_order(backend: Backend) -> None:
    organizer = a_user(role=Role.ORGANIZER)
    guests = [a_user() for _ in range(4)]
    event = an_event(organizer)
    # Tickets deliberately not in insertion order.
    regs = [
        a_registration(event, guests[0], status=WAITLISTED, ticket=3),
        a_registration(event, guests[1], status=WAITLISTED, ticket=1),
        a_registration(event, guests[2], status=WAITLISTED, ticket=2),
        a_registration(event, guests[3]),
    ]
    await store(backend, organizer, *guests, event, *regs)
    async with backend.uow() as uow:
        head = await uow.registrations.waitlist_head(event.id, 2)
        assert [r.waitlist_ticket for r in head] == [1, 2]
        assert len(await uow.registrations.waitlist_head(event.id, 10)) == 3
        assert await uow.registrations.waitlist_head(event.id, 0) == []


async def test_saving_and_deleting_registrations(backend: Backend) -> None:
    organizer, first, second = a_user(role=Role.ORGANIZER), a_user(), a_user()
    event = an_event(organizer)
    seat = a_registration(event, first)
    waiting = a_registration(event, second, status=WAITLISTED, ticket=1)
    await store(backend, organizer, first, second, event, seat, waiting)
    async with backend.uow() as uow:
        waiting.confirm(NOW + timedelta(minutes=5))
        await uow.registrations.save(waiting)
        await uow.registrations.delete(seat.id)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.registrations.get(seat.id) is None
        assert await uow.registrations.get(waiting.id) == waiting


async def test_cancel_all_keeps_registrations_as_cancelled_records(backend: Backend) -> None:
    organizer, first, second = a_user(role=Role.ORGANIZER), a_user(), a_user()
    event = an_event(organizer)
    regs = [
        a_registration(event, first),
        a_registration(event, second, status=WAITLISTED, ticket=1),
    ]
    await store(backend, organizer, first, second, event, *regs)
    async with backend.uow() as uow:
        await uow.registrations.cancel_all(event.id, NOW + timedelta(hours=1))
        await uow.commit()
    async with backend.uow() as uow:
        for reg in regs:
            loaded = await uow.registrations.get(reg.id)
            assert loaded is not None
            assert loaded.status is RegistrationStatus.CANCELLED
            assert loaded.waitlist_ticket is None
            assert loaded.updated_at == NOW + timedelta(hours=1)


async def test_active_registrations_of_a_user_for_events_not_yet_over(backend: Backend) -> None:
    organizer, guest = a_user(role=Role.ORGANIZER), a_user()
    soon = an_event(organizer, starts_at=NOW + timedelta(days=1))
    over = an_event(organizer, starts_at=NOW - timedelta(days=2))
    cancelled = an_event(organizer)
    regs = [a_registration(e, guest) for e in (soon, over, cancelled)]
    regs[2].status = RegistrationStatus.CANCELLED
    await store(backend, organizer, guest, soon, over, cancelled, *regs)
    async with backend.uow() as uow:
        found = await uow.registrations.active_for_user(guest.id, ending_after=NOW)
        assert [r.id for r in found] == [regs[0].id]


async def test_sessions_are_found_by_current_and_spent_tokens(backend: Backend) -> None:
    user = a_user()
    session = a_session(user, digest="first")
    await store(backend, user)
    async with backend.uow() as uow:
        await uow.sessions.add(session)
        await uow.commit()
    async with backend.uow() as uow:
        loaded = await uow.sessions.find_by_token("first")
        assert loaded == session
        loaded.rotate("first", "second", NOW)
        await uow.sessions.save(loaded)
        await uow.commit()
    async with backend.uow() as uow:
        by_new = await uow.sessions.find_by_token("second")
        by_spent = await uow.sessions.find_by_token("first")
        assert by_new is not None and by_spent is not None
        assert by_new.id == by_spent.id == session.id
        assert by_new.current_token_digest == "second"
        assert await uow.sessions.find_by_token("never issued") is None
        assert await uow.sessions.get(session.id) == by_new


async def test_revoking_all_sessions_of_a_user_can_spare_one(backend: Backend) -> None:
    user, other = a_user(), a_user()
    kept, ended, foreign = a_session(user, "a"), a_session(user, "b"), a_session(other, "c")
    await store(backend, user, other)
    async with backend.uow() as uow:
        for session in (kept, ended, foreign):
            await uow.sessions.add(session)
        await uow.sessions.revoke_all_for_user(user.id, NOW, except_session=kept.id)
        await uow.commit()
    async with backend.uow() as uow:
        revoked_at = {}
        for session in (kept, ended, foreign):
            loaded = await uow.sessions.get(session.id)
            assert loaded is not None
            revoked_at[session.id] = loaded.revoked_at
    assert revoked_at == {kept.id: None, ended.id: NOW, foreign.id: None}


async def test_stored_events_carry_no_recorded_facts(backend: Backend) -> None:
    organizer = a_user(role=Role.ORGANIZER)
    event = an_event(organizer, status=EventStatus.DRAFT)
    event.publish(NOW)  # records EventPublished on the in-memory object only
    await store(backend, organizer, event)
    async with backend.uow() as uow:
        loaded = await uow.events.get(event.id)
        assert loaded is not None
        assert loaded.pull_recorded() == []
