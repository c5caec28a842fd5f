"""Calendar feeds are stored alike on memory, SQLite and PostgreSQL: one per user, by
the digest of its token, replaced on rotation, gone when revoked or when the account
is erased; and a user's feed is read alike (`RegistrationQueries.calendar`)."""

from __future__ import annotations

from datetime import timedelta

from application.accounts import erase_account
from application.ports.repositories import CalendarFeed
from domain.event import EventStatus
from domain.registration import RegistrationStatus
from domain.users import User
from tests.builders import NOW, a_registration, a_user, an_event
from tests.contract.backends import Backend
from tests.contract.test_repositories import store


def a_feed(user: User, digest: str) -> CalendarFeed:
    return CalendarFeed(user_id=user.id, digest=digest, created_at=NOW)


async def test_a_feed_is_found_by_digest_and_replaced_by_a_new_one(backend: Backend) -> None:
    user, other = a_user(), a_user()
    await store(backend, user, other)
    async with backend.uow() as uow:
        await uow.calendar_feeds.replace(a_feed(user, "a" * 64))
        await uow.calendar_feeds.replace(a_feed(other, "o" * 64))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.calendar_feeds.find("a" * 64) == a_feed(user, "a" * 64)
        assert await uow.calendar_feeds.find("z" * 64) is None
        await uow.calendar_feeds.replace(a_feed(user, "b" * 64))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.calendar_feeds.find("a" * 64) is None  # rotated: the old one is dead
        assert await uow.calendar_feeds.find("b" * 64) == a_feed(user, "b" * 64)
        assert await uow.calendar_feeds.for_user(user.id) == a_feed(user, "b" * 64)
        assert await uow.calendar_feeds.for_user(other.id) == a_feed(other, "o" * 64)


async def test_a_feed_is_not_kept_without_commit(backend: Backend) -> None:
    user = a_user()
    await store(backend, user)
    async with backend.uow() as uow:
        await uow.calendar_feeds.replace(a_feed(user, "u" * 64))
    async with backend.uow() as uow:
        assert await uow.calendar_feeds.find("u" * 64) is None


async def test_discarding_says_whether_there_was_a_feed(backend: Backend) -> None:
    user, other = a_user(), a_user()
    await store(backend, user, other)
    async with backend.uow() as uow:
        await uow.calendar_feeds.replace(a_feed(user, "a" * 64))
        await uow.calendar_feeds.replace(a_feed(other, "o" * 64))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.calendar_feeds.discard(user.id) is True
        assert await uow.calendar_feeds.discard(user.id) is False
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.calendar_feeds.for_user(user.id) is None
        assert await uow.calendar_feeds.find("o" * 64) is not None  # nobody else's


async def test_erasing_an_account_deletes_its_feed(backend: Backend) -> None:
    user, other = a_user(), a_user()
    await store(backend, user, other)
    async with backend.uow() as uow:
        await uow.calendar_feeds.replace(a_feed(user, "a" * 64))
        await uow.calendar_feeds.replace(a_feed(other, "o" * 64))
        await uow.commit()
    async with backend.uow() as uow:
        await erase_account(uow, user, now=NOW)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.calendar_feeds.find("a" * 64) is None
        assert await uow.calendar_feeds.find("o" * 64) is not None


async def test_the_calendar_lists_active_seats_at_published_events_not_yet_ended(
    backend: Backend,
) -> None:
    organizer, guest, stranger = a_user(name="Olga Organizer"), a_user(), a_user()
    later = an_event(organizer, title="Later", starts_at=NOW + timedelta(days=9))
    sooner = an_event(organizer, title="Sooner", starts_at=NOW + timedelta(days=1))
    running = an_event(organizer, title="Running", starts_at=NOW - timedelta(hours=1), hours=3)
    ended = an_event(organizer, title="Ended", starts_at=NOW - timedelta(days=1))
    cancelled = an_event(organizer, title="Cancelled", status=EventStatus.CANCELLED)
    left = an_event(organizer, title="Left")
    waiting = an_event(organizer, title="Waiting", starts_at=NOW + timedelta(days=3))
    theirs = an_event(organizer, title="Theirs")
    events = [later, sooner, running, ended, cancelled, left, waiting, theirs]
    regs = [a_registration(e, guest) for e in events[:6]]
    regs[5].status = RegistrationStatus.CANCELLED
    regs.append(a_registration(waiting, guest, status=RegistrationStatus.WAITLISTED, ticket=1))
    regs.append(a_registration(theirs, stranger))
    await store(backend, organizer, guest, stranger, *events, *regs)

    entries = await backend.registrations.calendar(guest.id, ending_after=NOW)

    assert [(e.event.title, e.status) for e in entries] == [
        ("Running", RegistrationStatus.CONFIRMED),
        ("Sooner", RegistrationStatus.CONFIRMED),
        ("Waiting", RegistrationStatus.WAITLISTED),
        ("Later", RegistrationStatus.CONFIRMED),
    ]
    view = entries[1].event
    assert view.id == sooner.id
    assert view.organizer.full_name == "Olga Organizer"
    assert view.starts_at == sooner.window.starts_at
    assert view.ends_at == sooner.window.ends_at
    assert view.location.venue == "c-base"
    assert await backend.registrations.calendar(organizer.id, ending_after=NOW) == []
