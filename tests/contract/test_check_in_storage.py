"""What every storage backend must do with ticket codes and check-ins, alike on
memory, SQLite and PostgreSQL: codes stored and found per event, one conditional
check-in per ticket, never undone by a later save, and counted for the event."""

from __future__ import annotations

from datetime import timedelta

from application.ports.queries import PageRequest
from domain.registration import RegistrationStatus, new_ticket_code
from domain.users import Role
from tests.builders import NOW, a_registration, a_user, an_event
from tests.contract.backends import Backend
from tests.contract.test_repositories import store

LATER = NOW + timedelta(minutes=5)
CONFIRMED, WAITLISTED = RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED


async def test_a_ticket_is_checked_in_once_and_the_first_time_is_kept(backend: Backend) -> None:
    owner, guest = a_user(role=Role.ORGANIZER), a_user()
    event = an_event(owner)
    registration = a_registration(event, guest)
    code = registration.ticket_code
    assert code is not None
    await store(backend, owner, guest, event, registration)

    async with backend.uow() as uow:
        found = await uow.registrations.find_by_ticket(event.id, code)
        assert found is not None and found.id == registration.id and found.checked_in_at is None
        checked = await uow.registrations.check_in(event.id, code, NOW)
        assert checked is not None and checked.id == registration.id
        assert checked.checked_in_at == NOW and checked.ticket_code == code
        assert await uow.registrations.check_in(event.id, code, LATER) is None  # same unit
        await uow.commit()

    async with backend.uow() as uow:
        assert await uow.registrations.check_in(event.id, code, LATER) is None
        again = await uow.registrations.find_by_ticket(event.id, code)
        assert again is not None and again.checked_in_at == NOW
        await uow.commit()
    assert await backend.events.checked_in_count(event.id) == 1


async def test_only_a_confirmed_registration_of_that_event_checks_in(backend: Backend) -> None:
    owner, guest, waiting, gone = a_user(role=Role.ORGANIZER), a_user(), a_user(), a_user()
    event, other = an_event(owner), an_event(owner)
    seat = a_registration(event, guest)
    waitlisted = a_registration(event, waiting, status=WAITLISTED, ticket=1)
    cancelled = a_registration(event, gone)
    await store(backend, owner, guest, waiting, gone, event, other, seat, waitlisted, cancelled)
    assert seat.ticket_code and cancelled.ticket_code and waitlisted.ticket_code is None
    async with backend.uow() as uow:
        await uow.registrations.cancel_all(event.id, NOW)  # keeps the codes as a record
        await uow.commit()

    async with backend.uow() as uow:
        assert await uow.registrations.check_in(other.id, seat.ticket_code, NOW) is None
        assert await uow.registrations.find_by_ticket(other.id, seat.ticket_code) is None
        assert await uow.registrations.check_in(event.id, new_ticket_code(), NOW) is None
        assert await uow.registrations.check_in(event.id, cancelled.ticket_code, NOW) is None
        kept = await uow.registrations.find_by_ticket(event.id, cancelled.ticket_code)
        assert kept is not None and kept.status is RegistrationStatus.CANCELLED
        assert kept.checked_in_at is None
        await uow.commit()
    assert await backend.events.checked_in_count(event.id) == 0


async def test_a_check_in_without_commit_leaves_nothing(backend: Backend) -> None:
    owner, guest = a_user(role=Role.ORGANIZER), a_user()
    event = an_event(owner)
    registration = a_registration(event, guest)
    await store(backend, owner, guest, event, registration)
    assert registration.ticket_code is not None

    async with backend.uow() as uow:
        assert await uow.registrations.check_in(event.id, registration.ticket_code, NOW)

    assert await backend.events.checked_in_count(event.id) == 0


async def test_a_later_save_never_undoes_a_check_in(backend: Backend) -> None:
    owner, guest = a_user(role=Role.ORGANIZER), a_user()
    event = an_event(owner)
    registration = a_registration(event, guest)
    await store(backend, owner, guest, event, registration)
    assert registration.ticket_code is not None
    async with backend.uow() as uow:
        stale = await uow.registrations.get(registration.id)
        assert stale is not None
        await uow.registrations.check_in(event.id, registration.ticket_code, NOW)
        stale.updated_at = LATER
        await uow.registrations.save(stale)  # a copy read before the check-in
        await uow.commit()

    async with backend.uow() as uow:
        found = await uow.registrations.get(registration.id)
        assert found is not None and found.checked_in_at == NOW


async def test_a_promotion_stores_the_new_ticket_code(backend: Backend) -> None:
    owner, guest = a_user(role=Role.ORGANIZER), a_user()
    event = an_event(owner)
    waiting = a_registration(event, guest, status=WAITLISTED, ticket=1)
    await store(backend, owner, guest, event, waiting)
    async with backend.uow() as uow:
        found = await uow.registrations.get(waiting.id)
        assert found is not None and not found.ticket_code
        found.confirm(NOW)
        await uow.registrations.save(found)
        await uow.commit()
    assert found.ticket_code is not None

    async with backend.uow() as uow:
        stored = await uow.registrations.find_by_ticket(event.id, found.ticket_code)
        assert stored is not None and stored.id == waiting.id and stored.status is CONFIRMED


async def test_read_views_carry_the_code_and_the_check_in(backend: Backend) -> None:
    owner, guest, waiting = a_user(role=Role.ORGANIZER), a_user(), a_user()
    event = an_event(owner)
    seat = a_registration(event, guest)
    waitlisted = a_registration(event, waiting, status=WAITLISTED, ticket=1)
    await store(backend, owner, guest, waiting, event, seat, waitlisted)
    assert seat.ticket_code is not None
    async with backend.uow() as uow:
        await uow.registrations.check_in(event.id, seat.ticket_code, NOW)
        await uow.commit()

    page = await backend.registrations.attendees(event.id, None, PageRequest(limit=10))
    by_id = {view.id: view for view in page.items}
    assert by_id[seat.id].ticket_code == seat.ticket_code
    assert by_id[seat.id].checked_in_at == NOW
    assert by_id[waitlisted.id].ticket_code is None
    assert by_id[waitlisted.id].checked_in_at is None
    mine = await backend.registrations.for_user(
        guest.id, starting_after=None, page=PageRequest(limit=10)
    )
    assert [(v.ticket_code, v.checked_in_at) for v in mine.items] == [(seat.ticket_code, NOW)]
    assert await backend.events.checked_in_count(event.id) == 1


async def test_the_ticket_code_of_a_confirmed_seat_for_delivery(backend: Backend) -> None:
    owner, guest, waiting, stranger = (a_user() for _ in range(4))
    event = an_event(owner)
    seat = a_registration(event, guest)
    waitlisted = a_registration(event, waiting, status=WAITLISTED, ticket=1)
    await store(backend, owner, guest, waiting, stranger, event, seat, waitlisted)

    assert await backend.registrations.ticket_code(event.id, guest.id) == seat.ticket_code
    assert await backend.registrations.ticket_code(event.id, waiting.id) is None
    assert await backend.registrations.ticket_code(event.id, stranger.id) is None
    async with backend.uow() as uow:
        await uow.registrations.cancel_all(event.id, NOW)
        await uow.commit()
    assert await backend.registrations.ticket_code(event.id, guest.id) is None
