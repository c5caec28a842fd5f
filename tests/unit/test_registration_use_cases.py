"""Joining and leaving events, removal by the organizer, and the registration lists."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import timedelta
from uuid import UUID

import pytest

from adapters.memory.state import MemoryState
from application.errors import NotAuthenticated
from application.ports.notifications import Notification, NotificationKind
from application.ports.queries import PageRequest, RegistrationView
from application.principal import Principal
from application.use_cases.cancel_event import CancelEventCommand
from application.use_cases.close_own_account import CloseOwnAccountCommand
from application.use_cases.leave_event import LeaveEventCommand
from application.use_cases.list_attendees import ListAttendeesCommand
from application.use_cases.list_my_registrations import ListMyRegistrationsCommand
from application.use_cases.register_for_event import RegisterForEventCommand
from application.use_cases.remove_attendee import RemoveAttendeeCommand
from domain.errors import (
    AlreadyRegistered,
    EventFull,
    EventLocked,
    EventNotJoinable,
    NotAllowed,
    NotFound,
    NotRegistered,
)
from domain.event import EventStatus
from domain.registration import Registration, RegistrationStatus
from domain.users import AuthSession, Role
from tests.unit.people import person
from tests.unit.world import World

CONFIRMED = RegistrationStatus.CONFIRMED
WAITLISTED = RegistrationStatus.WAITLISTED


def snapshot(world: World) -> MemoryState:
    return copy.deepcopy(world.store.state)


def sent(world: World, kind: NotificationKind) -> list[Notification]:
    return [n for n in world.outbox() if n.kind is kind]


async def register(world: World, actor: Principal | None, event_id: UUID) -> RegistrationView:
    return await world.register.execute(RegisterForEventCommand(actor=actor, event_id=event_id))


async def leave(world: World, actor: Principal | None, event_id: UUID) -> None:
    await world.leave.execute(LeaveEventCommand(actor=actor, event_id=event_id))


def registration_of(world: World, event_id: UUID, user: Principal) -> Registration:
    (found,) = [r for r in world.registrations(event_id) if r.user_id == user.user_id]
    return found


async def attendees(
    world: World,
    actor: Principal | None,
    event_id: UUID,
    status: RegistrationStatus | None = None,
    limit: int = 100,
) -> list[RegistrationView]:
    """Every registration of the event, walking the pages."""
    found: list[RegistrationView] = []
    page = PageRequest(limit=limit)
    while True:
        result = await world.list_attendees.execute(
            ListAttendeesCommand(actor=actor, event_id=event_id, page=page, status=status)
        )
        found += result.items
        if result.next is None:
            return found
        page = PageRequest(limit=limit, after=result.next)


async def mine(world: World, actor: Principal, *, upcoming: bool = False) -> list[RegistrationView]:
    result = await world.list_my_registrations.execute(
        ListMyRegistrationsCommand(actor=actor, page=world.page(), upcoming=upcoming)
    )
    assert result.next is None
    return result.items


# -- RegisterForEvent ---------------------------------------------------------------------


async def test_a_free_seat_confirms_the_registration(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    event = await world.event(organizer, capacity=2)
    world.clock.advance(timedelta(minutes=5))

    view = await register(world, attendee, event.id)

    (stored,) = world.registrations(event.id)
    assert (stored.id, stored.user_id, stored.status) == (view.id, attendee.user_id, CONFIRMED)
    assert stored.waitlist_ticket is None
    assert stored.created_at == view.created_at == world.clock.now()
    assert view.status is CONFIRMED
    assert view.waitlist_position is None
    counts = world.store.state.events[event.id]
    assert (counts.attendee_count, counts.waitlist_count) == (1, 0)
    (confirmed,) = sent(world, NotificationKind.REGISTRATION_CONFIRMED)
    assert (confirmed.recipient_id, confirmed.event_id) == (attendee.user_id, event.id)


async def test_a_full_event_with_a_waitlist_queues_people_in_order(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer, capacity=1, waitlist=True)
    seated = await person(world)
    await register(world, seated, event.id)

    waiting = [await person(world) for _ in range(3)]
    views = [await register(world, p, event.id) for p in waiting]

    assert [v.status for v in views] == [WAITLISTED] * 3
    assert [v.waitlist_position for v in views] == [1, 2, 3]
    counts = world.store.state.events[event.id]
    assert (counts.attendee_count, counts.waitlist_count) == (1, 3)
    queued = sent(world, NotificationKind.REGISTRATION_WAITLISTED)
    assert [n.recipient_id for n in queued] == [p.user_id for p in waiting]
    assert len(sent(world, NotificationKind.REGISTRATION_CONFIRMED)) == 1


async def test_a_full_event_without_a_waitlist_refuses(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer, capacity=1)
    await register(world, await person(world), event.id)
    late = await person(world)
    before = snapshot(world)

    with pytest.raises(EventFull):
        await register(world, late, event.id)

    assert world.store.state == before


async def test_registering_twice_is_refused(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer, capacity=1, waitlist=True)
    seated, waiting = await person(world), await person(world)
    await register(world, seated, event.id)
    await register(world, waiting, event.id)
    before = snapshot(world)

    for again in (seated, waiting):
        with pytest.raises(AlreadyRegistered):
            await register(world, again, event.id)

    assert world.store.state == before


async def test_a_draft_is_not_found_by_those_who_cannot_see_it(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    draft = await world.event(organizer, status=EventStatus.DRAFT)
    strangers = (await person(world), await person(world, Role.ORGANIZER))
    before = snapshot(world)

    for stranger in strangers:
        with pytest.raises(NotFound):
            await register(world, stranger, draft.id)
    with pytest.raises(NotFound):
        await register(world, organizer, world.ids.new_id())

    assert world.store.state == before


async def test_a_draft_is_not_joinable_even_for_its_organizer(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    admin = await person(world, Role.ADMIN)
    draft = await world.event(organizer, status=EventStatus.DRAFT)
    before = snapshot(world)

    for manager in (organizer, admin):
        with pytest.raises(EventNotJoinable):
            await register(world, manager, draft.id)

    assert world.store.state == before


async def test_an_event_that_has_ended_is_not_joinable(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    event = await world.event(organizer, starts_in=timedelta(hours=1), hours=2)
    world.clock.advance(timedelta(hours=2))  # under way: still joinable
    await register(world, await person(world), event.id)
    world.clock.advance(timedelta(hours=1))  # now it has ended
    before = snapshot(world)

    with pytest.raises(EventNotJoinable):
        await register(world, attendee, event.id)

    assert world.store.state == before


async def test_a_cancelled_event_is_not_joinable(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    event = await world.event(organizer)
    await world.cancel_event.execute(CancelEventCommand(actor=organizer, event_id=event.id))
    before = snapshot(world)

    with pytest.raises(EventNotJoinable):
        await register(world, attendee, event.id)

    assert world.store.state == before


async def test_registering_needs_a_caller(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer)
    before = snapshot(world)

    with pytest.raises(NotAuthenticated):
        await register(world, None, event.id)

    assert world.store.state == before


@pytest.mark.parametrize("ended", ["account", "session"])
async def test_a_caller_whose_account_or_session_ended_cannot_join(
    world: World, ended: str
) -> None:
    """The caller was identified while still active; the join itself checks again."""
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer)
    user = await person(world)
    session = world.ids.new_id()
    world.store.state.sessions[session] = AuthSession(
        id=session,
        user_id=user.user_id,
        current_token_digest="digest",
        created_at=world.clock.now(),
        expires_at=world.clock.now() + timedelta(days=1),
    )
    caller = replace(user, session_id=session)
    if ended == "account":
        await world.close_own_account.execute(CloseOwnAccountCommand(actor=caller))
    else:
        world.store.state.sessions[session].revoke(world.clock.now())
    before = snapshot(world)

    with pytest.raises(NotAuthenticated):
        await register(world, caller, event.id)

    assert world.store.state == before


async def test_someone_who_left_may_join_again_at_the_back(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer, capacity=1, waitlist=True)
    seated, first, second = await person(world), await person(world), await person(world)
    for p in (seated, first, second):
        await register(world, p, event.id)
    await leave(world, first, event.id)

    view = await register(world, first, event.id)

    assert (view.status, view.waitlist_position) == (WAITLISTED, 2)
    waiting = await attendees(world, organizer, event.id, WAITLISTED)
    assert [(r.user_id, r.waitlist_position) for r in waiting] == [
        (second.user_id, 1),
        (first.user_id, 2),
    ]


# -- LeaveEvent ---------------------------------------------------------------------------


async def test_leaving_frees_the_seat_for_the_first_waitlisted(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer, capacity=1, waitlist=True)
    seated, first, second = await person(world), await person(world), await person(world)
    for p in (seated, first, second):
        await register(world, p, event.id)
    world.clock.advance(timedelta(minutes=1))

    await leave(world, seated, event.id)

    regs = world.registrations(event.id)
    assert [(r.user_id, r.status) for r in regs] == [
        (first.user_id, CONFIRMED),
        (second.user_id, WAITLISTED),
    ]
    assert registration_of(world, event.id, first).waitlist_ticket is None
    assert registration_of(world, event.id, first).updated_at == world.clock.now()
    counts = world.store.state.events[event.id]
    assert (counts.attendee_count, counts.waitlist_count) == (1, 1)
    (ended,) = sent(world, NotificationKind.REGISTRATION_ENDED)
    assert ended.recipient_id == seated.user_id
    assert ended.details == {"removed_by_organizer": "false"}
    (promoted,) = sent(world, NotificationKind.REGISTRATION_PROMOTED)
    assert (promoted.recipient_id, promoted.event_id) == (first.user_id, event.id)
    waiting = await attendees(world, organizer, event.id, WAITLISTED)
    assert [(v.user_id, v.waitlist_position) for v in waiting] == [(second.user_id, 1)]


async def test_leaving_the_waitlist_promotes_nobody(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer, capacity=1, waitlist=True)
    seated, first, second = await person(world), await person(world), await person(world)
    for p in (seated, first, second):
        await register(world, p, event.id)

    await leave(world, first, event.id)

    assert [(r.user_id, r.status) for r in world.registrations(event.id)] == [
        (seated.user_id, CONFIRMED),
        (second.user_id, WAITLISTED),
    ]
    assert sent(world, NotificationKind.REGISTRATION_PROMOTED) == []
    counts = world.store.state.events[event.id]
    assert (counts.attendee_count, counts.waitlist_count) == (1, 1)
    waiting = await attendees(world, organizer, event.id, WAITLISTED)
    assert [(v.user_id, v.waitlist_position) for v in waiting] == [(second.user_id, 1)]


async def test_leaving_without_a_registration_is_refused(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer)
    await register(world, await person(world), event.id)
    stranger = await person(world)
    before = snapshot(world)

    with pytest.raises(NotRegistered):
        await leave(world, stranger, event.id)
    with pytest.raises(NotAuthenticated):
        await leave(world, None, event.id)
    with pytest.raises(NotFound):
        await leave(world, stranger, world.ids.new_id())

    assert world.store.state == before


async def test_leaving_twice_is_refused(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    event = await world.event(organizer)
    await register(world, attendee, event.id)
    await leave(world, attendee, event.id)
    before = snapshot(world)

    with pytest.raises(NotRegistered):
        await leave(world, attendee, event.id)

    assert world.store.state == before


async def test_ended_and_cancelled_events_cannot_be_left(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    past = await world.event(organizer, starts_in=timedelta(hours=1), hours=1)
    cancelled = await world.event(organizer)
    await register(world, attendee, past.id)
    await register(world, attendee, cancelled.id)
    await world.cancel_event.execute(CancelEventCommand(actor=organizer, event_id=cancelled.id))
    world.clock.advance(timedelta(hours=3))
    before = snapshot(world)

    with pytest.raises(EventNotJoinable):
        await leave(world, attendee, past.id)
    with pytest.raises(EventLocked):
        await leave(world, attendee, cancelled.id)

    assert world.store.state == before


# -- RemoveAttendee -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin"])
async def test_the_owner_or_an_admin_removes_an_attendee(world: World, who: str) -> None:
    organizer = await person(world, Role.ORGANIZER)
    admin = await person(world, Role.ADMIN)
    event = await world.event(organizer, capacity=1, waitlist=True)
    seated, waiting = await person(world), await person(world)
    seat = await register(world, seated, event.id)
    await register(world, waiting, event.id)

    await world.remove_attendee.execute(
        RemoveAttendeeCommand(
            actor=organizer if who == "owner" else admin, event_id=event.id, registration_id=seat.id
        )
    )

    assert seat.id not in world.store.state.registrations
    assert registration_of(world, event.id, waiting).status is CONFIRMED
    (ended,) = sent(world, NotificationKind.REGISTRATION_ENDED)
    assert (ended.recipient_id, ended.event_id) == (seated.user_id, event.id)
    assert ended.details == {"removed_by_organizer": "true"}
    (promoted,) = sent(world, NotificationKind.REGISTRATION_PROMOTED)
    assert promoted.recipient_id == waiting.user_id


async def test_only_the_owner_or_an_admin_removes_attendees(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    other = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    event = await world.event(organizer)
    seat = await register(world, attendee, event.id)
    before = snapshot(world)

    def removal(actor: Principal | None) -> RemoveAttendeeCommand:
        return RemoveAttendeeCommand(actor=actor, event_id=event.id, registration_id=seat.id)

    for actor in (other, attendee):
        with pytest.raises(NotAllowed):
            await world.remove_attendee.execute(removal(actor))
    with pytest.raises(NotAuthenticated):
        await world.remove_attendee.execute(removal(None))

    assert world.store.state == before


async def test_a_registration_of_another_event_is_not_found(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    mine = await world.event(organizer)
    theirs = await world.event(await person(world, Role.ORGANIZER))
    elsewhere = await register(world, await person(world), theirs.id)
    before = snapshot(world)

    for registration_id in (elsewhere.id, world.ids.new_id()):
        with pytest.raises(NotFound):
            await world.remove_attendee.execute(
                RemoveAttendeeCommand(
                    actor=organizer, event_id=mine.id, registration_id=registration_id
                )
            )

    assert world.store.state == before


# -- ListAttendees ------------------------------------------------------------------------


async def test_attendees_are_listed_in_joining_order_with_waitlist_positions(
    world: World,
) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer, capacity=2, waitlist=True)
    people = [await person(world, name=f"Person {n}") for n in range(6)]
    for p in people:
        world.clock.advance(timedelta(seconds=1))
        await register(world, p, event.id)

    everyone = await attendees(world, organizer, event.id, limit=4)

    assert [v.user_id for v in everyone] == [p.user_id for p in people]
    assert [v.status for v in everyone] == [CONFIRMED] * 2 + [WAITLISTED] * 4
    assert [v.waitlist_position for v in everyone] == [None, None, 1, 2, 3, 4]
    assert [v.user.full_name if v.user else None for v in everyone] == [
        f"Person {n}" for n in range(6)
    ]
    confirmed = await attendees(world, organizer, event.id, CONFIRMED)
    assert [v.user_id for v in confirmed] == [p.user_id for p in people[:2]]
    waitlisted = await attendees(world, organizer, event.id, WAITLISTED, limit=3)
    assert [v.user_id for v in waitlisted] == [p.user_id for p in people[2:]]
    assert [v.waitlist_position for v in waitlisted] == [1, 2, 3, 4]


async def test_waitlist_positions_stay_contiguous_after_someone_leaves(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer, capacity=1, waitlist=True)
    people = [await person(world) for _ in range(5)]
    for p in people:
        await register(world, p, event.id)

    await leave(world, people[2], event.id)

    waitlisted = await attendees(world, organizer, event.id, WAITLISTED)
    assert [(v.user_id, v.waitlist_position) for v in waitlisted] == [
        (people[1].user_id, 1),
        (people[3].user_id, 2),
        (people[4].user_id, 3),
    ]


async def test_only_the_owner_or_an_admin_lists_attendees(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    admin = await person(world, Role.ADMIN)
    attendee = await person(world)
    event = await world.event(organizer)
    draft = await world.event(organizer, status=EventStatus.DRAFT)
    await register(world, attendee, event.id)

    assert len(await attendees(world, admin, event.id)) == 1
    assert await attendees(world, admin, draft.id) == []
    for actor in (await person(world, Role.ORGANIZER), attendee):
        with pytest.raises(NotAllowed):
            await attendees(world, actor, event.id)
        with pytest.raises(NotFound):
            await attendees(world, actor, draft.id)
    with pytest.raises(NotAuthenticated):
        await attendees(world, None, event.id)
    with pytest.raises(NotFound):
        await attendees(world, None, draft.id)


async def test_a_cancelled_event_has_no_attendees_left(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer)
    await register(world, await person(world), event.id)
    await world.cancel_event.execute(CancelEventCommand(actor=organizer, event_id=event.id))

    assert await attendees(world, organizer, event.id) == []


# -- ListMyRegistrations ------------------------------------------------------------------


async def test_my_registrations_come_by_event_start_with_their_events(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    me = await person(world)
    later = await world.event(organizer, starts_in=timedelta(days=9), title="Later")
    sooner = await world.event(organizer, starts_in=timedelta(days=2), title="Sooner")
    full = await world.event(
        organizer, starts_in=timedelta(days=5), capacity=1, waitlist=True, title="Full"
    )
    await register(world, await person(world), full.id)
    for event in (later, sooner, full):
        await register(world, me, event.id)
    await world.event(organizer, starts_in=timedelta(days=1))  # not mine

    listed = await mine(world, me)

    assert [v.event_id for v in listed] == [sooner.id, full.id, later.id]
    assert [v.event.title if v.event else None for v in listed] == ["Sooner", "Full", "Later"]
    assert [v.status for v in listed] == [CONFIRMED, WAITLISTED, CONFIRMED]
    assert [v.waitlist_position for v in listed] == [None, 1, None]
    assert all(v.user_id == me.user_id for v in listed)


async def test_upcoming_keeps_only_events_that_have_not_started(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    me = await person(world)
    soon = await world.event(organizer, starts_in=timedelta(hours=1), hours=3)
    later = await world.event(organizer, starts_in=timedelta(days=3))
    past = await world.event(organizer, starts_in=timedelta(minutes=30), hours=1)
    for event in (soon, later, past):
        await register(world, me, event.id)
    world.clock.advance(timedelta(hours=2))  # `soon` is under way, `past` is over

    assert [v.event_id for v in await mine(world, me, upcoming=True)] == [later.id]
    assert [v.event_id for v in await mine(world, me)] == [past.id, soon.id, later.id]


async def test_registrations_of_cancelled_events_stay_listed_as_cancelled(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    me = await person(world)
    cancelled = await world.event(organizer, starts_in=timedelta(days=1))
    kept = await world.event(organizer, starts_in=timedelta(days=2))
    await register(world, me, cancelled.id)
    await register(world, me, kept.id)
    await world.cancel_event.execute(CancelEventCommand(actor=organizer, event_id=cancelled.id))

    for upcoming in (False, True):
        listed = await mine(world, me, upcoming=upcoming)
        assert [(v.event_id, v.status) for v in listed] == [
            (cancelled.id, RegistrationStatus.CANCELLED),
            (kept.id, CONFIRMED),
        ]
        assert listed[0].event is not None
        assert listed[0].event.status is EventStatus.CANCELLED


async def test_my_registrations_page_through_everything_once(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    me = await person(world)
    events = [await world.event(organizer, starts_in=timedelta(days=d)) for d in (3, 1, 2, 1, 4)]
    for event in events:
        await register(world, me, event.id)

    seen: list[UUID] = []
    page = PageRequest(limit=2)
    while True:
        result = await world.list_my_registrations.execute(
            ListMyRegistrationsCommand(actor=me, page=page)
        )
        seen += [v.event_id for v in result.items]
        if result.next is None:
            break
        page = PageRequest(limit=2, after=result.next)

    assert sorted(seen) == sorted(e.id for e in events)
    starts = [world.store.state.events[event_id].window.starts_at for event_id in seen]
    assert starts == sorted(starts)


async def test_listing_my_registrations_needs_a_caller(world: World) -> None:
    with pytest.raises(NotAuthenticated):
        await world.list_my_registrations.execute(
            ListMyRegistrationsCommand(actor=None, page=world.page())
        )
