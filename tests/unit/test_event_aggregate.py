"""The Event aggregate on its own: lifecycle, seats, waitlist and what it records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from domain.domain_events import (
    AttendeeLeft,
    AttendeePromoted,
    AttendeeRegistered,
    CoOrganizerAdded,
    CoOrganizerRemoved,
    EventCancelled,
    EventCreated,
    EventPublished,
    EventRescheduled,
    EventRevised,
)
from domain.errors import (
    AlreadyCoOrganizer,
    AlreadyRegistered,
    CapacityBelowAttendees,
    EventFull,
    EventLocked,
    EventNotJoinable,
    InvalidTransition,
    InvalidValue,
    NotFound,
    NotRegistered,
    OwnerNotCoOrganizer,
)
from domain.event import MAX_STORED_DESCRIPTION, Event, EventStatus
from domain.registration import Registration, RegistrationStatus
from domain.values import Capacity, Coordinates
from tests.unit.event_scene import (
    ENDS_AT,
    EVENT_ID,
    NOW,
    ORGANIZER,
    STARTS_AT,
    Seats,
    draft_event,
    published_event,
    user,
    venue,
    window,
)

LATER = NOW + timedelta(hours=1)


def state(event: Event) -> tuple[object, ...]:
    """Everything a refused command must leave as it was."""
    return (
        event.status,
        event.capacity,
        event.attendee_count,
        event.waitlist_count,
        event.tickets_issued,
        event.sequence,
        event.revision,
        event.title,
        event.window,
        event.location,
        event.cancel_reason,
        list(event.recorded),
    )


def full_event_with_waitlist(waiting: int, *, capacity: int = 2) -> Seats:
    """`capacity` confirmed users 0.., then `waiting` waitlisted users; nothing recorded."""
    seats = Seats(published_event(capacity=capacity, waitlist=True))
    for number in range(capacity + waiting):
        seats.join(user(number))
    seats.event.pull_recorded()
    return seats


# -- planning and publishing -------------------------------------------------------------


def test_a_planned_event_is_an_empty_draft() -> None:
    event = draft_event(capacity=3)

    assert event.status is EventStatus.DRAFT
    assert (event.attendee_count, event.waitlist_count, event.available_seats) == (0, 0, 3)
    assert (event.revision, event.sequence) == (1, 0)
    assert event.pull_recorded() == [
        EventCreated(occurred_at=NOW, event_id=EVENT_ID, organizer_id=ORGANIZER)
    ]


def test_a_draft_is_published() -> None:
    event = draft_event()
    event.pull_recorded()

    event.publish(LATER)

    assert event.status is EventStatus.PUBLISHED
    assert (event.revision, event.updated_at) == (2, LATER)
    assert event.pull_recorded() == [
        EventPublished(occurred_at=LATER, event_id=EVENT_ID, organizer_id=ORGANIZER)
    ]


def test_an_event_that_has_started_but_not_ended_can_still_be_published() -> None:
    event = draft_event()

    event.publish(ENDS_AT - timedelta(seconds=1))

    assert event.status is EventStatus.PUBLISHED


def test_an_ended_event_cannot_be_published() -> None:
    event = draft_event()
    before = state(event)

    with pytest.raises(EventNotJoinable):
        event.publish(ENDS_AT)

    assert state(event) == before


def test_only_a_draft_can_be_published() -> None:
    event = published_event()
    before = state(event)

    with pytest.raises(InvalidTransition) as raised:
        event.publish(LATER)

    assert (raised.value.current, raised.value.target) == ("published", "published")
    assert state(event) == before


def test_a_title_is_required_and_trimmed() -> None:
    with pytest.raises(InvalidValue):
        replace(draft_event(), title="   ")
    assert replace(draft_event(), title="  Sprint  ").title == "Sprint"


# -- cancelling ----------------------------------------------------------------------------


def test_a_draft_cannot_be_cancelled() -> None:
    event = draft_event()
    before = state(event)

    with pytest.raises(InvalidTransition) as raised:
        event.cancel("no reason", LATER)

    assert (raised.value.current, raised.value.target) == ("draft", "cancelled")
    assert state(event) == before


def test_cancelling_releases_every_seat_and_is_announced() -> None:
    seats = full_event_with_waitlist(2)
    event = seats.event
    sequence, revision = event.sequence, event.revision

    event.cancel("  Speaker ill  ", LATER)

    assert event.status is EventStatus.CANCELLED
    assert (event.attendee_count, event.waitlist_count) == (0, 0)
    assert event.cancel_reason == "Speaker ill"
    assert (event.sequence, event.revision) == (sequence + 1, revision + 1)
    (cancelled,) = event.pull_recorded()
    assert isinstance(cancelled, EventCancelled)
    assert (cancelled.event_id, cancelled.occurred_at) == (EVENT_ID, LATER)


def test_the_announced_cancel_reason_is_the_one_stored() -> None:
    event = published_event()

    event.cancel("  Speaker ill  ", LATER)

    (cancelled,) = event.pull_recorded()
    assert isinstance(cancelled, EventCancelled)
    assert cancelled.reason == event.cancel_reason


def test_a_rejected_cancel_reason_leaves_the_event_as_it_was() -> None:
    seats = full_event_with_waitlist(1)
    before = state(seats.event)

    with pytest.raises(InvalidValue):
        seats.event.cancel("Speaker\x00ill", LATER)

    assert state(seats.event) == before


def test_a_cancelled_event_cannot_be_cancelled_again() -> None:
    event = published_event()
    event.cancel("", LATER)
    before = state(event)

    with pytest.raises(InvalidTransition):
        event.cancel("", LATER)
    with pytest.raises(InvalidTransition):
        event.publish(LATER)

    assert state(event) == before


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda seats: seats.event.revise(now=LATER, title="New"), id="revise"),
        pytest.param(lambda seats: seats.resize(5, LATER), id="change_capacity"),
        pytest.param(lambda seats: seats.leave(user(0), LATER), id="release"),
    ],
)
def test_a_cancelled_event_is_locked(change: Callable[[Seats], object]) -> None:
    seats = full_event_with_waitlist(1)
    seats.event.cancel("", LATER)
    for registration in seats.by_user.values():
        registration.status = RegistrationStatus.CANCELLED  # as the repository does
    seats.event.pull_recorded()
    before = state(seats.event)

    with pytest.raises(EventLocked):
        change(seats)

    assert state(seats.event) == before


# -- registering ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_event", "now"),
    [
        pytest.param(lambda: draft_event(), NOW, id="draft"),
        pytest.param(lambda: _cancelled(), NOW, id="cancelled"),
        pytest.param(lambda: published_event(), ENDS_AT, id="ended"),
        pytest.param(lambda: published_event(), ENDS_AT + timedelta(days=1), id="long-over"),
    ],
)
def test_only_a_published_event_that_has_not_ended_can_be_joined(
    make_event: Callable[[], Event], now: datetime
) -> None:
    event = make_event()
    seats = Seats(event)
    before = state(event)

    with pytest.raises(EventNotJoinable):
        seats.join(user(1), now)

    assert state(event) == before
    assert seats.by_user == {}


def _cancelled() -> Event:
    event = published_event()
    event.cancel("", NOW)
    event.pull_recorded()
    return event


def test_a_running_event_can_still_be_joined() -> None:
    seats = Seats(published_event())

    registration = seats.join(user(1), STARTS_AT + timedelta(minutes=30))

    assert registration.status is RegistrationStatus.CONFIRMED


def test_free_seats_are_confirmed() -> None:
    seats = Seats(published_event(capacity=2))

    first = seats.join(user(1), LATER)
    second = seats.join(user(2), LATER)

    for registration, number in ((first, 1), (second, 2)):
        assert registration.status is RegistrationStatus.CONFIRMED
        assert registration.waitlist_ticket is None
        assert (registration.user_id, registration.event_id) == (user(number), EVENT_ID)
        assert registration.created_at == LATER
    assert (seats.event.attendee_count, seats.event.available_seats) == (2, 0)
    assert seats.event.pull_recorded() == [
        AttendeeRegistered(
            occurred_at=LATER,
            event_id=EVENT_ID,
            user_id=user(number),
            registration_id=registration.id,
            waitlisted=False,
            starts_at=seats.event.window.starts_at,
        )
        for registration, number in ((first, 1), (second, 2))
    ]


def test_a_full_event_with_a_waitlist_hands_out_increasing_tickets() -> None:
    seats = full_event_with_waitlist(0, capacity=1)

    waiting = [seats.join(user(number)) for number in (1, 2, 3)]

    assert [r.status for r in waiting] == [RegistrationStatus.WAITLISTED] * 3
    assert [r.waitlist_ticket for r in waiting] == [1, 2, 3]
    assert (seats.event.attendee_count, seats.event.waitlist_count) == (1, 3)
    recorded = seats.event.pull_recorded()
    assert [(e.user_id, e.waitlisted) for e in recorded if isinstance(e, AttendeeRegistered)] == [
        (user(1), True),
        (user(2), True),
        (user(3), True),
    ]


def test_tickets_keep_increasing_after_people_leave_the_waitlist() -> None:
    seats = full_event_with_waitlist(2, capacity=1)
    seats.leave(user(1))
    seats.leave(user(2))

    ticket = seats.join(user(3)).waitlist_ticket

    assert ticket == 3


def test_a_full_event_without_a_waitlist_refuses() -> None:
    seats = Seats(published_event(capacity=1))
    seats.join(user(0))
    seats.event.pull_recorded()
    before = state(seats.event)

    with pytest.raises(EventFull) as raised:
        seats.join(user(1))

    assert raised.value.event_id == EVENT_ID
    assert state(seats.event) == before
    assert list(seats.by_user) == [user(0)]


@pytest.mark.parametrize("waiting", [0, 1], ids=["confirmed", "waitlisted"])
def test_a_user_registers_only_once(waiting: int) -> None:
    seats = full_event_with_waitlist(waiting, capacity=1)
    before = state(seats.event)
    last = user(waiting)

    with pytest.raises(AlreadyRegistered) as raised:
        seats.join(last)

    assert (raised.value.user_id, raised.value.event_id) == (last, EVENT_ID)
    assert state(seats.event) == before


def test_a_cancelled_record_does_not_count_as_a_registration() -> None:
    event = published_event()
    old = Registration(
        id=EVENT_ID,
        event_id=EVENT_ID,
        user_id=user(1),
        status=RegistrationStatus.CANCELLED,
        waitlist_ticket=None,
        created_at=NOW,
        updated_at=NOW,
    )

    registration = event.register(
        registration_id=ORGANIZER, user_id=user(1), existing=old, now=LATER
    )

    assert registration.status is RegistrationStatus.CONFIRMED


# -- releasing -----------------------------------------------------------------------------


def test_a_confirmed_attendee_leaving_promotes_the_lowest_ticket() -> None:
    seats = full_event_with_waitlist(3, capacity=2)
    head = seats.waitlist()[0]

    promoted = seats.leave(user(0), LATER)

    assert promoted is head
    assert promoted.user_id == user(2)
    assert promoted.status is RegistrationStatus.CONFIRMED
    assert promoted.waitlist_ticket is None
    assert promoted.updated_at == LATER
    assert (seats.event.attendee_count, seats.event.waitlist_count) == (2, 2)
    assert seats.waitlisted_users() == [user(3), user(4)]
    left, promotion = seats.event.pull_recorded()
    assert isinstance(left, AttendeeLeft)
    assert (left.user_id, left.removed_by_organizer) == (user(0), False)
    assert promotion == AttendeePromoted(
        occurred_at=LATER,
        event_id=EVENT_ID,
        user_id=user(2),
        registration_id=head.id,
        starts_at=seats.event.window.starts_at,
    )


def test_a_waitlisted_person_leaving_only_shortens_the_waitlist() -> None:
    seats = full_event_with_waitlist(3, capacity=2)

    promoted = seats.leave(user(3), LATER)

    assert promoted is None
    assert (seats.event.attendee_count, seats.event.waitlist_count) == (2, 2)
    assert seats.waitlisted_users() == [user(2), user(4)]
    assert [type(e) for e in seats.event.pull_recorded()] == [AttendeeLeft]


def test_a_confirmed_attendee_leaving_without_a_waitlist_frees_a_seat() -> None:
    seats = Seats(published_event(capacity=2))
    seats.join(user(0))
    seats.join(user(1))

    promoted = seats.leave(user(0), LATER, by_organizer=True)

    assert promoted is None
    assert (seats.event.attendee_count, seats.event.available_seats) == (1, 1)
    left = seats.event.pull_recorded()[-1]
    assert isinstance(left, AttendeeLeft)
    assert left.removed_by_organizer


def test_a_registration_of_another_event_is_not_released() -> None:
    seats = full_event_with_waitlist(0)
    stranger = replace(seats.by_user[user(0)], event_id=ORGANIZER)
    before = state(seats.event)

    with pytest.raises(NotRegistered):
        seats.event.release(stranger, waitlist_head=[], now=LATER)

    assert state(seats.event) == before


def test_nobody_leaves_an_event_that_has_ended() -> None:
    seats = full_event_with_waitlist(1)
    before = state(seats.event)

    with pytest.raises(EventNotJoinable):
        seats.leave(user(0), ENDS_AT)

    assert state(seats.event) == before


# -- forgetting an erased person's registration ----------------------------------------


def test_forgetting_a_seat_of_an_ended_event_keeps_it_counted() -> None:
    seats = full_event_with_waitlist(1)
    before = state(seats.event)

    seats.event.forget(seats.by_user[user(0)], ENDS_AT)

    assert state(seats.event) == before


def test_forgetting_a_waitlist_ticket_shortens_the_waitlist_silently() -> None:
    seats = full_event_with_waitlist(2)
    revision = seats.event.revision

    seats.event.forget(seats.by_user[user(2)], ENDS_AT)

    assert (seats.event.attendee_count, seats.event.waitlist_count) == (2, 1)
    assert seats.event.revision == revision + 1
    assert seats.event.pull_recorded() == []


def test_a_registration_of_another_event_is_not_forgotten() -> None:
    seats = full_event_with_waitlist(1)
    stranger = replace(seats.by_user[user(2)], event_id=ORGANIZER)
    before = state(seats.event)

    with pytest.raises(NotRegistered):
        seats.event.forget(stranger, ENDS_AT)

    assert state(seats.event) == before


# -- capacity ------------------------------------------------------------------------------


def test_capacity_never_drops_below_the_confirmed_attendees() -> None:
    seats = full_event_with_waitlist(1, capacity=3)
    before = state(seats.event)

    with pytest.raises(CapacityBelowAttendees) as raised:
        seats.resize(2, LATER)

    assert (raised.value.capacity, raised.value.attendees) == (2, 3)
    assert state(seats.event) == before


def test_capacity_may_drop_to_the_confirmed_attendees() -> None:
    seats = Seats(published_event(capacity=5))
    seats.join(user(0))
    seats.join(user(1))

    promoted = seats.resize(2, LATER)

    assert promoted == []
    assert (seats.event.capacity, seats.event.available_seats) == (Capacity(2), 0)


def test_new_seats_go_to_the_waitlist_in_ticket_order() -> None:
    seats = full_event_with_waitlist(4, capacity=2)

    promoted = seats.resize(4, LATER)

    assert [r.user_id for r in promoted] == [user(2), user(3)]
    assert all(r.status is RegistrationStatus.CONFIRMED for r in promoted)
    assert (seats.event.attendee_count, seats.event.waitlist_count) == (4, 2)
    assert seats.waitlisted_users() == [user(4), user(5)]
    recorded = seats.event.pull_recorded()
    assert [e.user_id for e in recorded if isinstance(e, AttendeePromoted)] == [user(2), user(3)]


def test_more_new_seats_than_waiting_people_empties_the_waitlist() -> None:
    seats = full_event_with_waitlist(2, capacity=2)

    promoted = seats.resize(10, LATER)

    assert len(promoted) == 2
    assert (seats.event.attendee_count, seats.event.waitlist_count) == (4, 0)
    assert seats.event.available_seats == 6


def test_an_incomplete_waitlist_head_is_refused() -> None:
    seats = full_event_with_waitlist(2, capacity=2)
    out_of_order = list(reversed(seats.waitlist()))

    with pytest.raises(ValueError, match="incomplete"):
        seats.event.change_capacity(Capacity(4), waitlist_head=out_of_order, now=LATER)
    with pytest.raises(ValueError, match="incomplete"):
        seats.event.change_capacity(Capacity(4), waitlist_head=out_of_order[:1], now=LATER)


# -- what a decision needs ---------------------------------------------------------------


def test_releasing_a_seat_needs_the_first_waiting_person_and_nothing_else_does() -> None:
    seats = full_event_with_waitlist(2)
    seated, waiting = seats.by_user[user(0)], seats.by_user[user(2)]
    assert seats.event.waitlist_needed_to_release(seated) == 1
    assert seats.event.waitlist_needed_to_release(waiting) == 0
    nobody_waits = full_event_with_waitlist(0)
    assert nobody_waits.event.waitlist_needed_to_release(nobody_waits.by_user[user(0)]) == 0


@pytest.mark.parametrize(("capacity", "needed"), [(2, 0), (3, 1), (4, 2), (5, 3), (100, 3), (1, 0)])
def test_resizing_needs_one_waiting_person_per_seat_gained(capacity: int, needed: int) -> None:
    seats = full_event_with_waitlist(3)

    assert seats.event.waitlist_needed_to_resize(Capacity(capacity)) == needed


def test_a_newcomer_on_the_waitlist_is_last_in_line_and_a_seat_has_no_position() -> None:
    seats = full_event_with_waitlist(2)

    assert seats.event.position_of_newcomer(seats.by_user[user(0)]) is None
    assert seats.event.position_of_newcomer(seats.join(user(9))) == 3


# -- revising ------------------------------------------------------------------------------


def test_a_new_title_is_no_reschedule_only_a_revision() -> None:
    """Attendees are not mailed about a title (no EventRescheduled); webhooks hear
    of it (EventRevised)."""
    event = published_event()
    sequence, revision = event.sequence, event.revision

    event.revise(now=LATER, title=" Sprint ", description="Hacking")

    assert (event.title, event.description) == ("Sprint", "Hacking")
    assert (event.sequence, event.revision) == (sequence, revision + 1)
    assert event.pull_recorded() == [
        EventRevised(occurred_at=LATER, event_id=EVENT_ID, changed=("title", "description"))
    ]


def test_a_revision_that_changes_nothing_records_nothing() -> None:
    event = published_event()

    event.revise(now=LATER, title=event.title, window=event.window)

    assert event.pull_recorded() == []


def test_a_new_capacity_of_a_published_event_is_a_revision() -> None:
    event = published_event()

    event.change_capacity(Capacity(event.capacity.value + 5), waitlist_head=[], now=LATER)
    event.change_capacity(event.capacity, waitlist_head=[], now=LATER)

    assert event.pull_recorded() == [
        EventRevised(occurred_at=LATER, event_id=EVENT_ID, changed=("capacity",))
    ]


def test_a_new_time_of_a_published_event_is_announced() -> None:
    event = published_event()
    later_window = window(STARTS_AT + timedelta(days=1), ENDS_AT + timedelta(days=1))

    event.revise(now=LATER, window=later_window)

    assert event.window == later_window
    assert event.sequence == 1
    assert event.pull_recorded() == [
        EventRescheduled(
            occurred_at=LATER,
            event_id=EVENT_ID,
            time_changed=True,
            place_changed=False,
            starts_at=later_window.starts_at,
            changed=("window",),
        )
    ]


def test_a_new_place_of_a_published_event_is_announced() -> None:
    event = published_event()

    event.revise(now=LATER, location=venue("Raumfahrtagentur"), window=window())

    assert event.location.venue == "Raumfahrtagentur"
    assert event.sequence == 1
    assert event.pull_recorded() == [
        EventRescheduled(
            occurred_at=LATER,
            event_id=EVENT_ID,
            time_changed=False,
            place_changed=True,
            starts_at=event.window.starts_at,
            changed=("location",),
        )
    ]


def test_moving_the_pin_of_the_same_place_is_not_a_new_place() -> None:
    event = published_event()

    event.revise(now=LATER, location=replace(venue(), coordinates=Coordinates(52.5, 13.4)))

    assert event.location.coordinates == Coordinates(52.5, 13.4)
    assert event.sequence == 0
    assert event.pull_recorded() == [  # not mailed to attendees; webhooks hear of it
        EventRevised(occurred_at=LATER, event_id=EVENT_ID, changed=("location",))
    ]


def test_rescheduling_a_draft_is_not_announced() -> None:
    event = draft_event()
    event.pull_recorded()

    event.revise(now=LATER, location=venue("Elsewhere"))

    assert event.pull_recorded() == []


def test_a_revision_with_a_blank_title_changes_nothing() -> None:
    event = published_event()
    before = state(event)

    with pytest.raises(InvalidValue):
        event.revise(now=LATER, title=" ", location=venue("Elsewhere"))
    with pytest.raises(InvalidValue):
        event.revise(now=LATER, description="x" * (MAX_STORED_DESCRIPTION + 1))

    assert state(event) == before


def test_every_change_bumps_the_revision_and_refusals_do_not() -> None:
    seats = Seats(draft_event(capacity=1, waitlist=True))
    event = seats.event
    revisions = [event.revision]
    changes: list[Callable[[], object]] = [
        lambda: event.publish(NOW),
        lambda: seats.join(user(0)),
        lambda: seats.join(user(1)),
        lambda: seats.leave(user(0)),
        lambda: seats.resize(3),
        lambda: event.revise(now=NOW, title="Renamed"),
        lambda: event.cancel("", NOW),
    ]

    for change in changes:
        change()
        revisions.append(event.revision)
    with pytest.raises(InvalidTransition):
        event.cancel("", NOW)

    assert revisions == list(range(1, len(changes) + 2))
    assert event.revision == revisions[-1]


# -- co-organizers ---------------------------------------------------------------------------


def test_adding_a_co_organizer_records_the_fact_and_changes_nothing_else() -> None:
    event = draft_event()
    event.pull_recorded()
    before = state(event)

    added = event.add_co_organizer(user(7), current=frozenset(), by=ORGANIZER, now=NOW)

    assert (added.event_id, added.user_id, added.added_at, added.added_by) == (
        EVENT_ID,
        user(7),
        NOW,
        ORGANIZER,
    )
    assert event.pull_recorded() == [
        CoOrganizerAdded(occurred_at=NOW, event_id=EVENT_ID, user_id=user(7))
    ]
    assert state(event) == before


def test_the_owner_twice_and_a_cancelled_event_are_refused() -> None:
    event = published_event()
    with pytest.raises(OwnerNotCoOrganizer):
        event.add_co_organizer(ORGANIZER, current=frozenset(), by=ORGANIZER, now=NOW)
    with pytest.raises(AlreadyCoOrganizer):
        event.add_co_organizer(user(7), current=frozenset({user(7)}), by=ORGANIZER, now=NOW)
    event.cancel("", NOW)
    event.pull_recorded()
    with pytest.raises(EventLocked):
        event.add_co_organizer(user(7), current=frozenset(), by=ORGANIZER, now=NOW)
    assert event.pull_recorded() == []


def test_removing_someone_who_is_not_a_co_organizer_is_not_found() -> None:
    event = draft_event()
    event.pull_recorded()
    with pytest.raises(NotFound):
        event.remove_co_organizer(user(7), current=frozenset({user(8)}), now=NOW)

    event.remove_co_organizer(user(8), current=frozenset({user(8)}), now=NOW)

    assert event.pull_recorded() == [
        CoOrganizerRemoved(occurred_at=NOW, event_id=EVENT_ID, user_id=user(8))
    ]
