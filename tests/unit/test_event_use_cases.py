"""Creating, changing, cancelling, deleting, reading and searching events."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from adapters.memory.state import MemoryState
from application.errors import NotAuthenticated, PreconditionFailed
from application.event_input import LocationInput, WindowInput
from application.ports.notifications import Notification, NotificationKind
from application.ports.queries import EventCriteria, EventOrder, EventView, PageRequest, Total
from application.principal import Principal
from application.use_cases.cancel_event import CancelEventCommand
from application.use_cases.create_event import CreateEventCommand
from application.use_cases.delete_event import DeleteEventCommand
from application.use_cases.get_event import GetEventCommand
from application.use_cases.leave_event import LeaveEventCommand
from application.use_cases.search_events import SearchEventsCommand
from application.use_cases.update_event import UpdateEventCommand
from domain.errors import (
    CapacityBelowAttendees,
    EventLocked,
    EventNotJoinable,
    InvalidTransition,
    InvalidValue,
    NotAllowed,
    NotFound,
)
from domain.event import EventStatus
from domain.registration import RegistrationStatus
from domain.users import Role
from domain.values import Coordinates
from tests.unit.people import person
from tests.unit.world import World

BERLIN = Coordinates(52.5200, 13.4050)
POTSDAM = Coordinates(52.3906, 13.0645)  # about 27 km from Berlin
HAMBURG = Coordinates(53.5511, 9.9937)  # about 255 km from Berlin


def snapshot(world: World) -> MemoryState:
    return copy.deepcopy(world.store.state)


def create_command(world: World, actor: Principal | None, **changes: Any) -> CreateEventCommand:
    starts_at = world.clock.now() + timedelta(days=7)
    command = CreateEventCommand(
        actor=actor,
        title="Python evening",
        window=WindowInput(
            starts_at=starts_at, ends_at=starts_at + timedelta(hours=3), timezone="Europe/Berlin"
        ),
        capacity=50,
        description="<p>Talks and pizza</p>",
        location=LocationInput(venue="c-base", address="Rungestr. 20", city="Berlin", country="DE"),
    )
    return replace(command, **changes)


def sent(world: World, kind: NotificationKind) -> list[Notification]:
    return [n for n in world.outbox() if n.kind is kind]


async def read(world: World, event_id: UUID) -> EventView:
    view = await world.event_queries.get(event_id)
    assert view is not None
    return view


# -- CreateEvent --------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ORGANIZER, Role.ADMIN])
async def test_organizers_and_admins_create_draft_events(world: World, role: Role) -> None:
    actor = await person(world, role, name="Guido")

    view = await world.create_event.execute(create_command(world, actor))

    stored = world.store.state.events[view.id]
    assert stored.status is EventStatus.DRAFT
    assert stored.organizer_id == actor.user_id
    assert (stored.attendee_count, stored.waitlist_count) == (0, 0)
    assert stored.created_at == stored.updated_at == world.clock.now()
    assert view.status is EventStatus.DRAFT
    assert view.organizer.id == actor.user_id
    assert view.organizer.full_name == "Guido"
    assert view.title == "Python evening"
    assert view.location.city == "Berlin"
    assert view.capacity == view.available_seats == 50
    (created,) = [n for n in world.outbox() if n.kind is not NotificationKind.WELCOME]
    assert created.kind is NotificationKind.EVENT_CREATED
    assert (created.recipient_id, created.event_id) == (actor.user_id, view.id)


async def test_an_event_may_be_created_published(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)

    view = await world.create_event.execute(
        create_command(world, organizer, status=EventStatus.PUBLISHED)
    )

    assert world.store.state.events[view.id].status is EventStatus.PUBLISHED
    (published,) = sent(world, NotificationKind.EVENT_PUBLISHED)
    assert (published.recipient_id, published.event_id) == (organizer.user_id, view.id)


async def test_attendees_and_strangers_may_not_create_events(world: World) -> None:
    attendee = await person(world)
    before = snapshot(world)

    with pytest.raises(NotAllowed):
        await world.create_event.execute(create_command(world, attendee))
    with pytest.raises(NotAuthenticated):
        await world.create_event.execute(create_command(world, None))

    assert world.store.state == before


async def test_the_description_is_sanitized(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    dirty = (
        '<p onclick="steal()">Hello <strong>all</strong></p>'
        "<script>alert('x')</script>"
        '<a href="javascript:alert(1)">click</a>'
        '<a href="https://python.org" onmouseover="x()">python</a>'
        '<img src=x onerror="alert(1)">'
    )

    view = await world.create_event.execute(create_command(world, organizer, description=dirty))

    stored = world.store.state.events[view.id].description
    assert stored == view.description
    for forbidden in ("<script", "alert", "onclick", "onmouseover", "onerror", "javascript:"):
        assert forbidden not in stored.lower()
    assert "<p>Hello <strong>all</strong></p>" in stored
    assert 'href="https://python.org"' in stored


async def test_a_description_of_10000_characters_is_accepted(world: World) -> None:
    """The contract allows 10,000 characters of description, as stored and returned:
    sanitizing escapes a plain "&" to "&amp;", and the escaped form must fit too."""
    organizer = await person(world, Role.ORGANIZER)
    description = ("Q and A with the core devs. " * 400)[:10_000]
    view = await world.create_event.execute(
        create_command(world, organizer, description=description)
    )
    assert world.store.state.events[view.id].description == description

    escaped = ("Q&A with the core devs. " * 417)[:10_000]
    with pytest.raises(InvalidValue) as raised:
        await world.create_event.execute(create_command(world, organizer, description=escaped))
    assert raised.value.field == "description"


def _window(world: World, **changes: Any) -> WindowInput:
    starts_at = world.clock.now() + timedelta(days=1)
    window = WindowInput(starts_at=starts_at, ends_at=starts_at + timedelta(hours=1))
    return replace(window, **changes)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"title": "bell\x07"}, "title"),
        ({"description": "d" * 10_001}, "description"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 100_001}, "capacity"),
        ({"location": LocationInput(latitude=52.5)}, "location"),
        ({"location": LocationInput(latitude=91.0, longitude=0.0)}, "location.latitude"),
        ({"location": LocationInput(latitude=0.0, longitude=181.0)}, "location.longitude"),
        ({"location": LocationInput(city="c" * 101)}, "location.city"),
    ],
)
async def test_invalid_event_input_is_refused(
    world: World, changes: dict[str, Any], field: str
) -> None:
    organizer = await person(world, Role.ORGANIZER)
    before = snapshot(world)

    with pytest.raises(InvalidValue) as raised:
        await world.create_event.execute(create_command(world, organizer, **changes))

    assert raised.value.field == field
    assert world.store.state == before


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ({"ends_at": None}, "ends_at"),
        ({"starts_at": None}, "starts_at"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"starts_at": datetime(2030, 2, 1, 10, 0)}, "starts_at"),  # noqa: DTZ001
        ({"ends_at": datetime(2030, 1, 1, 8, 0, tzinfo=UTC)}, "ends_at"),
        ({"ends_at": datetime(2031, 6, 1, tzinfo=UTC)}, "ends_at"),  # longer than a year
    ],
)
async def test_an_invalid_time_window_is_refused(
    world: World, window: dict[str, Any], field: str
) -> None:
    organizer = await person(world, Role.ORGANIZER)
    before = snapshot(world)

    with pytest.raises(InvalidValue) as raised:
        await world.create_event.execute(
            create_command(world, organizer, window=_window(world, **window))
        )

    assert raised.value.field == field
    assert world.store.state == before


async def test_an_event_cannot_be_created_cancelled_or_published_in_the_past(
    world: World,
) -> None:
    organizer = await person(world, Role.ORGANIZER)
    past = WindowInput(
        starts_at=world.clock.now() - timedelta(days=2),
        ends_at=world.clock.now() - timedelta(days=1),
    )
    before = snapshot(world)

    with pytest.raises(InvalidTransition):
        await world.create_event.execute(
            create_command(world, organizer, status=EventStatus.CANCELLED)
        )
    with pytest.raises(EventNotJoinable):
        await world.create_event.execute(
            create_command(world, organizer, window=past, status=EventStatus.PUBLISHED)
        )

    assert world.store.state == before


# -- UpdateEvent --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin"])
async def test_the_owner_or_an_admin_updates_an_event(world: World, who: str) -> None:
    organizer = await person(world, Role.ORGANIZER)
    admin = await person(world, Role.ADMIN)
    event = await world.event(organizer)
    world.clock.advance(timedelta(hours=1))

    view = await world.update_event.execute(
        UpdateEventCommand(
            actor=organizer if who == "owner" else admin,
            event_id=event.id,
            title="  New title ",
            description='<em onclick="x()">new</em><script>bad()</script>',
            waitlist_enabled=True,
        )
    )

    stored = world.store.state.events[event.id]
    assert stored.title == view.title == "New title"
    assert stored.description == "<em>new</em>"
    assert stored.waitlist_enabled
    assert stored.organizer_id == organizer.user_id
    assert stored.updated_at == world.clock.now()
    assert view.revision == event.revision + 1


async def test_only_the_owner_or_an_admin_may_update(world: World) -> None:
    owner = await person(world, Role.ORGANIZER)
    other = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    published = await world.event(owner)
    draft = await world.event(owner, status=EventStatus.DRAFT)
    before = snapshot(world)

    def update(actor: Principal | None, event_id: UUID) -> UpdateEventCommand:
        return UpdateEventCommand(actor=actor, event_id=event_id, title="Hijacked")

    for actor in (other, attendee):
        with pytest.raises(NotAllowed):
            await world.update_event.execute(update(actor, published.id))
    with pytest.raises(NotAuthenticated):
        await world.update_event.execute(update(None, published.id))
    # A draft the caller may not see does not exist for them.
    for stranger in (other, attendee, None):
        with pytest.raises(NotFound):
            await world.update_event.execute(update(stranger, draft.id))
    with pytest.raises(NotFound):
        await world.update_event.execute(update(owner, world.ids.new_id()))

    assert world.store.state == before


async def test_a_stale_revision_changes_nothing(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer)
    fresh = await world.update_event.execute(
        UpdateEventCommand(
            actor=organizer, event_id=event.id, expected_revision=event.revision, title="Second"
        )
    )
    before = snapshot(world)

    with pytest.raises(PreconditionFailed):
        await world.update_event.execute(
            UpdateEventCommand(
                actor=organizer,
                event_id=event.id,
                expected_revision=event.revision,
                title="Third",
                capacity=99,
                status=EventStatus.CANCELLED,
            )
        )

    assert world.store.state == before
    assert fresh.revision == event.revision + 1
    after = await world.update_event.execute(
        UpdateEventCommand(
            actor=organizer, event_id=event.id, expected_revision=fresh.revision, title="Third"
        )
    )
    assert after.title == "Third"


async def test_capacity_never_drops_below_the_confirmed_attendees(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer, capacity=5)
    for _ in range(3):
        await world.join(await person(world), event.id)
    before = snapshot(world)

    with pytest.raises(CapacityBelowAttendees) as raised:
        await world.update_event.execute(
            UpdateEventCommand(actor=organizer, event_id=event.id, title="Smaller", capacity=2)
        )

    assert (raised.value.capacity, raised.value.attendees) == (2, 3)
    assert world.store.state == before
    shrunk = await world.update_event.execute(
        UpdateEventCommand(actor=organizer, event_id=event.id, capacity=3)
    )
    assert (shrunk.capacity, shrunk.available_seats) == (3, 0)


async def test_raising_capacity_promotes_the_waitlist_in_order(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer, capacity=1, waitlist=True)
    people = [await person(world) for _ in range(5)]
    for someone in people:
        world.clock.advance(timedelta(seconds=1))
        await world.join(someone, event.id)

    view = await world.update_event.execute(
        UpdateEventCommand(actor=organizer, event_id=event.id, capacity=3)
    )

    status = {r.user_id: r.status for r in world.registrations(event.id)}
    confirmed, waitlisted = RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED
    assert [status[p.user_id] for p in people] == [confirmed] * 3 + [waitlisted] * 2
    assert (view.attendee_count, view.waitlist_count) == (3, 2)
    promoted = sent(world, NotificationKind.REGISTRATION_PROMOTED)
    assert [n.recipient_id for n in promoted] == [people[1].user_id, people[2].user_id]
    # Raising past the waitlist confirms everyone and leaves seats free.
    view = await world.update_event.execute(
        UpdateEventCommand(actor=organizer, event_id=event.id, capacity=10)
    )
    assert (view.attendee_count, view.waitlist_count, view.available_seats) == (5, 0, 5)


async def test_a_change_of_time_is_announced_to_confirmed_and_waitlisted(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer, capacity=1, waitlist=True)
    seated, waiting, gone = await person(world), await person(world), await person(world)
    for someone in (seated, waiting, gone):
        await world.join(someone, event.id)
    await world.leave.execute(LeaveEventCommand(actor=gone, event_id=event.id))

    new_start = event.starts_at + timedelta(days=1)
    await world.update_event.execute(
        UpdateEventCommand(
            actor=organizer,
            event_id=event.id,
            window=WindowInput(starts_at=new_start, ends_at=new_start + timedelta(hours=2)),
        )
    )

    changed = sent(world, NotificationKind.EVENT_CHANGED)
    assert {n.recipient_id for n in changed} == {seated.user_id, waiting.user_id}
    assert len({n.cause_id for n in changed}) == 1
    assert all(n.event_id == event.id for n in changed)
    assert all(n.details == {"time_changed": "true", "place_changed": "false"} for n in changed)
    stored = world.store.state.events[event.id]
    assert stored.window.starts_at == new_start
    assert stored.window.timezone == "Europe/Berlin"  # untouched fields stay
    assert stored.sequence == event.sequence + 1


async def test_a_change_of_place_is_announced(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    event = await world.event(organizer)
    await world.join(attendee, event.id)

    await world.update_event.execute(
        UpdateEventCommand(
            actor=organizer, event_id=event.id, location=LocationInput(venue="Another venue")
        )
    )

    (changed,) = sent(world, NotificationKind.EVENT_CHANGED)
    assert changed.recipient_id == attendee.user_id
    assert changed.details == {"time_changed": "false", "place_changed": "true"}
    location = world.store.state.events[event.id].location
    assert (location.venue, location.city) == ("Another venue", "Berlin")


async def test_other_changes_and_drafts_announce_nothing(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    event = await world.event(organizer)
    draft = await world.event(organizer, status=EventStatus.DRAFT)
    await world.join(attendee, event.id)
    same = event.starts_at

    await world.update_event.execute(
        UpdateEventCommand(
            actor=organizer,
            event_id=event.id,
            title="Renamed",
            capacity=20,
            location=LocationInput(venue="c-base"),  # the same place
            window=WindowInput(starts_at=same),  # the same time
        )
    )
    later = draft.starts_at + timedelta(days=3)
    await world.update_event.execute(
        UpdateEventCommand(
            actor=organizer,
            event_id=draft.id,
            window=WindowInput(starts_at=later, ends_at=later + timedelta(hours=1)),
        )
    )

    assert sent(world, NotificationKind.EVENT_CHANGED) == []


async def test_publishing_through_an_update(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    draft = await world.event(organizer, status=EventStatus.DRAFT)

    view = await world.update_event.execute(
        UpdateEventCommand(actor=organizer, event_id=draft.id, status=EventStatus.PUBLISHED)
    )

    assert view.status is EventStatus.PUBLISHED
    assert world.store.state.events[draft.id].status is EventStatus.PUBLISHED
    (published,) = sent(world, NotificationKind.EVENT_PUBLISHED)
    assert (published.recipient_id, published.event_id) == (organizer.user_id, draft.id)
    # Publishing what is already published is a no-op, not an error.
    again = await world.update_event.execute(
        UpdateEventCommand(actor=organizer, event_id=draft.id, status=EventStatus.PUBLISHED)
    )
    assert again.status is EventStatus.PUBLISHED
    assert len(sent(world, NotificationKind.EVENT_PUBLISHED)) == 1


async def test_a_published_event_never_goes_back_to_draft(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer)
    before = snapshot(world)

    with pytest.raises(InvalidTransition):
        await world.update_event.execute(
            UpdateEventCommand(
                actor=organizer, event_id=event.id, title="Back", status=EventStatus.DRAFT
            )
        )

    assert world.store.state == before


async def test_cancelling_through_an_update_releases_everyone(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer, capacity=1, waitlist=True)
    seated, waiting = await person(world), await person(world)
    await world.join(seated, event.id)
    await world.join(waiting, event.id)

    view = await world.update_event.execute(
        UpdateEventCommand(actor=organizer, event_id=event.id, status=EventStatus.CANCELLED)
    )

    assert view.status is EventStatus.CANCELLED
    assert {r.status for r in world.registrations(event.id)} == {RegistrationStatus.CANCELLED}
    cancelled = sent(world, NotificationKind.EVENT_CANCELLED)
    assert {n.recipient_id for n in cancelled} == {seated.user_id, waiting.user_id}


async def test_a_cancelled_event_is_final(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer)
    await world.cancel_event.execute(CancelEventCommand(actor=organizer, event_id=event.id))
    before = snapshot(world)

    with pytest.raises(EventLocked):
        await world.update_event.execute(
            UpdateEventCommand(actor=organizer, event_id=event.id, title="Revived")
        )
    with pytest.raises(EventLocked):
        await world.update_event.execute(
            UpdateEventCommand(actor=organizer, event_id=event.id, status=EventStatus.PUBLISHED)
        )

    assert world.store.state == before


# -- CancelEvent --------------------------------------------------------------------------


async def test_cancelling_notifies_every_attendee_then_ends_their_registrations(
    world: World,
) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer, capacity=2, waitlist=True)
    people = [await person(world) for _ in range(3)]
    for someone in people:
        await world.join(someone, event.id)
    world.clock.advance(timedelta(hours=1))

    view = await world.cancel_event.execute(
        CancelEventCommand(actor=organizer, event_id=event.id, reason="  Speaker is ill \n")
    )

    assert view.status is EventStatus.CANCELLED
    assert (view.attendee_count, view.waitlist_count) == (0, 0)
    stored = world.store.state.events[event.id]
    assert stored.cancel_reason == "Speaker is ill"
    registrations = world.registrations(event.id)
    assert [r.user_id for r in registrations] == [p.user_id for p in people]
    assert all(r.status is RegistrationStatus.CANCELLED for r in registrations)
    assert all(r.updated_at == world.clock.now() for r in registrations)
    notices = sent(world, NotificationKind.EVENT_CANCELLED)
    assert [n.recipient_id for n in notices] == [p.user_id for p in people]
    assert all(n.details == {"reason": "Speaker is ill"} for n in notices)
    assert all(n.event_id == event.id for n in notices)


async def test_an_invalid_cancel_reason_changes_nothing(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer)
    await world.join(await person(world), event.id)
    before = snapshot(world)

    for reason in ("r" * 1001, "bell\x07"):
        with pytest.raises(InvalidValue) as raised:
            await world.cancel_event.execute(
                CancelEventCommand(actor=organizer, event_id=event.id, reason=reason)
            )
        assert raised.value.field == "reason"

    assert world.store.state == before


async def test_an_admin_cancels_any_event(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    admin = await person(world, Role.ADMIN)
    event = await world.event(organizer)

    view = await world.cancel_event.execute(CancelEventCommand(actor=admin, event_id=event.id))

    assert view.status is EventStatus.CANCELLED


async def test_only_published_events_can_be_cancelled(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    draft = await world.event(organizer, status=EventStatus.DRAFT)
    cancelled = await world.event(organizer)
    await world.cancel_event.execute(CancelEventCommand(actor=organizer, event_id=cancelled.id))
    before = snapshot(world)

    for event_id in (draft.id, cancelled.id):
        with pytest.raises(InvalidTransition):
            await world.cancel_event.execute(CancelEventCommand(actor=organizer, event_id=event_id))

    assert world.store.state == before


async def test_only_the_owner_or_an_admin_cancels(world: World) -> None:
    owner = await person(world, Role.ORGANIZER)
    other = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    event = await world.event(owner)
    draft = await world.event(owner, status=EventStatus.DRAFT)
    await world.join(attendee, event.id)
    before = snapshot(world)

    for actor in (other, attendee):
        with pytest.raises(NotAllowed):
            await world.cancel_event.execute(CancelEventCommand(actor=actor, event_id=event.id))
        with pytest.raises(NotFound):
            await world.cancel_event.execute(CancelEventCommand(actor=actor, event_id=draft.id))
    with pytest.raises(NotAuthenticated):
        await world.cancel_event.execute(CancelEventCommand(actor=None, event_id=event.id))

    assert world.store.state == before


# -- DeleteEvent --------------------------------------------------------------------------


async def test_deleting_an_event_notifies_attendees_and_removes_registrations(
    world: World,
) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer, capacity=1, waitlist=True, title="Doomed")
    seated, waiting = await person(world), await person(world)
    await world.join(seated, event.id)
    await world.join(waiting, event.id)
    other = await world.event(organizer)
    await world.join(seated, other.id)

    await world.delete_event.execute(DeleteEventCommand(actor=organizer, event_id=event.id))

    assert event.id not in world.store.state.events
    assert world.registrations(event.id) == []
    assert len(world.registrations(other.id)) == 1
    notices = sent(world, NotificationKind.EVENT_DELETED)
    assert [n.recipient_id for n in notices] == [seated.user_id, waiting.user_id]
    assert all(n.details == {"title": "Doomed"} for n in notices)
    with pytest.raises(NotFound):
        await world.get_event.execute(GetEventCommand(actor=organizer, event_id=event.id))


async def test_deleting_a_draft_notifies_nobody(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    admin = await person(world, Role.ADMIN)
    draft = await world.event(organizer, status=EventStatus.DRAFT)
    queued = len(world.outbox())

    await world.delete_event.execute(DeleteEventCommand(actor=admin, event_id=draft.id))

    assert draft.id not in world.store.state.events
    assert len(world.outbox()) == queued


async def test_only_the_owner_or_an_admin_deletes(world: World) -> None:
    owner = await person(world, Role.ORGANIZER)
    other = await person(world, Role.ORGANIZER)
    attendee = await person(world)
    event = await world.event(owner)
    draft = await world.event(owner, status=EventStatus.DRAFT)
    before = snapshot(world)

    for actor in (other, attendee):
        with pytest.raises(NotAllowed):
            await world.delete_event.execute(DeleteEventCommand(actor=actor, event_id=event.id))
        with pytest.raises(NotFound):
            await world.delete_event.execute(DeleteEventCommand(actor=actor, event_id=draft.id))
    with pytest.raises(NotAuthenticated):
        await world.delete_event.execute(DeleteEventCommand(actor=None, event_id=event.id))
    with pytest.raises(NotFound):
        await world.delete_event.execute(
            DeleteEventCommand(actor=owner, event_id=world.ids.new_id())
        )

    assert world.store.state == before


# -- GetEvent -----------------------------------------------------------------------------


async def test_published_and_cancelled_events_are_public(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer)
    cancelled = await world.event(organizer)
    await world.cancel_event.execute(CancelEventCommand(actor=organizer, event_id=cancelled.id))

    for actor in (None, await person(world), await person(world, Role.ORGANIZER)):
        view = await world.get_event.execute(GetEventCommand(actor=actor, event_id=event.id))
        assert view == await read(world, event.id)
        gone = await world.get_event.execute(GetEventCommand(actor=actor, event_id=cancelled.id))
        assert gone.status is EventStatus.CANCELLED


async def test_drafts_are_seen_only_by_their_owner_and_admins(world: World) -> None:
    owner = await person(world, Role.ORGANIZER)
    draft = await world.event(owner, status=EventStatus.DRAFT)

    for actor in (owner, await person(world, Role.ADMIN)):
        view = await world.get_event.execute(GetEventCommand(actor=actor, event_id=draft.id))
        assert view.status is EventStatus.DRAFT
    for stranger in (None, await person(world), await person(world, Role.ORGANIZER)):
        with pytest.raises(NotFound):
            await world.get_event.execute(GetEventCommand(actor=stranger, event_id=draft.id))


async def test_an_unknown_event_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        await world.get_event.execute(GetEventCommand(actor=None, event_id=world.ids.new_id()))


# -- SearchEvents -------------------------------------------------------------------------


async def search(
    world: World, criteria: EventCriteria, actor: Principal | None = None
) -> list[UUID]:
    """Every match, walking the pages two at a time."""
    found: list[UUID] = []
    page = PageRequest(limit=2)
    while True:
        result = await world.search_events.execute(
            SearchEventsCommand(actor=actor, criteria=criteria, page=page)
        )
        assert len(result.items) <= 2
        found += [e.id for e in result.items]
        if result.next is None:
            return found
        page = PageRequest(limit=2, after=result.next)


async def make(
    world: World,
    organizer: Principal,
    *,
    days: float,
    title: str = "Meetup",
    description: str = "",
    city: str = "Berlin",
    country: str = "DE",
    venue: str = "",
    at: Coordinates | None = None,
    capacity: int = 10,
    status: EventStatus = EventStatus.PUBLISHED,
) -> UUID:
    starts_at = datetime(2030, 1, 1, 9, 0, tzinfo=UTC) + timedelta(days=days)
    view = await world.create_event.execute(
        CreateEventCommand(
            actor=organizer,
            title=title,
            description=description,
            window=WindowInput(starts_at=starts_at, ends_at=starts_at + timedelta(hours=2)),
            capacity=capacity,
            location=LocationInput(
                venue=venue,
                city=city,
                country=country,
                latitude=at.latitude if at else None,
                longitude=at.longitude if at else None,
            ),
            status=status,
        )
    )
    return view.id


async def test_search_lists_published_events_by_start_time(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    third = await make(world, organizer, days=3)
    first = await make(world, organizer, days=1)
    second = await make(world, organizer, days=2)
    await make(world, organizer, days=1.5, status=EventStatus.DRAFT)

    assert await search(world, EventCriteria()) == [first, second, third]
    assert await search(world, EventCriteria(descending=True)) == [third, second, first]


async def test_search_pages_walk_ties_without_duplicates_or_gaps(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    ids = [await make(world, organizer, days=day) for day in (1, 1, 1, 2, 2, 3, 3, 3, 3)]

    ascending = await search(world, EventCriteria())
    descending = await search(world, EventCriteria(descending=True))

    assert sorted(ascending) == sorted(ids)
    assert len(set(ascending)) == len(ids)
    assert descending == list(reversed(ascending))


async def test_search_by_text_over_title_description_venue_and_city(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    by_title = await make(world, organizer, days=1, title="Django Girls workshop")
    by_description = await make(world, organizer, days=2, description="<p>All about django</p>")
    by_venue = await make(world, organizer, days=3, venue="Django House")
    by_city = await make(world, organizer, days=4, city="Djangoville")
    await make(world, organizer, days=5, title="Flask evening")

    assert await search(world, EventCriteria(text="DJANGO")) == [
        by_title,
        by_description,
        by_venue,
        by_city,
    ]
    assert await search(world, EventCriteria(text="django workshop")) == [by_title]


async def test_search_by_date_range_is_inclusive(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    days = [await make(world, organizer, days=d) for d in range(5)]
    start = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)

    found = await search(
        world,
        EventCriteria(starts_from=start + timedelta(days=1), starts_to=start + timedelta(days=3)),
    )

    assert found == days[1:4]
    assert await search(world, EventCriteria(starts_from=start + timedelta(days=4))) == days[4:]
    assert await search(world, EventCriteria(starts_to=start)) == days[:1]


async def test_search_by_city_and_country_ignores_case(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    berlin = await make(world, organizer, days=1, city="Berlin", country="DE")
    paris = await make(world, organizer, days=2, city="Paris", country="FR")
    munich = await make(world, organizer, days=3, city="München", country="DE")

    assert await search(world, EventCriteria(city="BERLIN")) == [berlin]
    assert await search(world, EventCriteria(city="münchen")) == [munich]
    assert await search(world, EventCriteria(country="de")) == [berlin, munich]
    assert await search(world, EventCriteria(country="fr", city="paris")) == [paris]
    assert await search(world, EventCriteria(country="fr", city="berlin")) == []


async def test_search_near_a_point_within_a_radius(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    berlin = await make(world, organizer, days=1, at=BERLIN)
    potsdam = await make(world, organizer, days=2, at=POTSDAM)
    hamburg = await make(world, organizer, days=3, at=HAMBURG)
    await make(world, organizer, days=4)  # no coordinates: never "near" anything

    assert await search(world, EventCriteria(near=BERLIN, radius_km=10)) == [berlin]
    assert await search(world, EventCriteria(near=BERLIN, radius_km=50)) == [berlin, potsdam]
    assert await search(world, EventCriteria(near=BERLIN, radius_km=300)) == [
        berlin,
        potsdam,
        hamburg,
    ]


async def test_search_nearest_first(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    hamburg = await make(world, organizer, days=1, at=HAMBURG)
    potsdam = await make(world, organizer, days=2, at=POTSDAM)
    berlin = await make(world, organizer, days=3, at=BERLIN)
    nearest = EventCriteria(near=BERLIN, radius_km=300, order=EventOrder.DISTANCE)

    assert await search(world, nearest) == [berlin, potsdam, hamburg]


async def test_the_total_is_counted_only_when_asked_for(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    for day in range(3):
        await make(world, organizer, days=day)

    def command(include_total: bool) -> SearchEventsCommand:
        return SearchEventsCommand(
            actor=None, criteria=EventCriteria(), page=world.page(2), include_total=include_total
        )

    assert (await world.search_events.execute(command(False))).total is None
    assert (await world.search_events.execute(command(True))).total == Total(3, exact=True)
    foreign_drafts = SearchEventsCommand(
        actor=organizer,
        criteria=EventCriteria(status=EventStatus.DRAFT, organizer_id=world.ids.new_id()),
        page=world.page(),
        include_total=True,
    )
    assert (await world.search_events.execute(foreign_drafts)).total == Total(0, exact=True)


async def test_search_for_events_with_seats_left(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    full = await make(world, organizer, days=1, capacity=1)
    open_ = await make(world, organizer, days=2, capacity=2)
    await world.join(await person(world), full)
    await world.join(await person(world), open_)

    assert await search(world, EventCriteria(available_only=True)) == [open_]
    assert await search(world, EventCriteria()) == [full, open_]


async def test_search_by_organizer(world: World) -> None:
    alice = await person(world, Role.ORGANIZER)
    bob = await person(world, Role.ORGANIZER)
    mine = await make(world, alice, days=1)
    theirs = await make(world, bob, days=2)

    assert await search(world, EventCriteria(organizer_id=alice.user_id)) == [mine]
    assert await search(world, EventCriteria(organizer_id=bob.user_id)) == [theirs]


async def test_cancelled_events_are_listed_on_request(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    live = await make(world, organizer, days=1)
    called_off = await make(world, organizer, days=2)
    await world.cancel_event.execute(CancelEventCommand(actor=organizer, event_id=called_off))

    assert await search(world, EventCriteria()) == [live]
    assert await search(world, EventCriteria(status=EventStatus.CANCELLED)) == [called_off]


async def test_drafts_are_listed_for_their_organizers_and_admins_only(world: World) -> None:
    alice = await person(world, Role.ORGANIZER)
    bob = await person(world, Role.ORGANIZER)
    admin = await person(world, Role.ADMIN)
    alices = await make(world, alice, days=1, status=EventStatus.DRAFT)
    bobs = await make(world, bob, days=2, status=EventStatus.DRAFT)
    drafts = EventCriteria(status=EventStatus.DRAFT)

    assert await search(world, drafts, alice) == [alices]
    assert await search(world, drafts, bob) == [bobs]
    assert await search(world, drafts, admin) == [alices, bobs]
    assert await search(world, replace(drafts, organizer_id=bob.user_id), admin) == [bobs]
    # Asking for someone else's drafts shows nothing, not them.
    assert await search(world, replace(drafts, organizer_id=bob.user_id), alice) == []
    with pytest.raises(NotAllowed):
        await search(world, drafts, await person(world))
    with pytest.raises(NotAuthenticated):
        await search(world, drafts, None)


@pytest.mark.parametrize(
    ("criteria", "field"),
    [
        (EventCriteria(near=BERLIN), "near"),
        (EventCriteria(radius_km=10), "near"),
        (EventCriteria(near=BERLIN, radius_km=0), "radius_km"),
        (EventCriteria(near=BERLIN, radius_km=-5), "radius_km"),
        (EventCriteria(near=BERLIN, radius_km=20_001), "radius_km"),
        (
            EventCriteria(
                starts_from=datetime(2030, 2, 1, tzinfo=UTC),
                starts_to=datetime(2030, 1, 1, tzinfo=UTC),
            ),
            "starts_to",
        ),
        (EventCriteria(text="x" * 201), "q"),
        (EventCriteria(order=EventOrder.DISTANCE), "sort"),
    ],
)
async def test_invalid_search_criteria_are_refused(
    world: World, criteria: EventCriteria, field: str
) -> None:
    with pytest.raises(InvalidValue) as raised:
        await world.search_events.execute(
            SearchEventsCommand(actor=None, criteria=criteria, page=world.page())
        )

    assert raised.value.field == field


@pytest.mark.parametrize("limit", [0, -1, 101])
async def test_a_page_size_out_of_range_is_invalid(limit: int) -> None:
    with pytest.raises(InvalidValue) as raised:
        PageRequest(limit=limit)

    assert raised.value.field == "limit"
