"""Properties of the Event aggregate's seats and waitlist, over any sequence of moves."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from domain.errors import AlreadyRegistered, CapacityBelowAttendees, EventFull
from domain.registration import RegistrationStatus
from tests.unit.event_scene import Seats, published_event, user

capacities = st.integers(min_value=1, max_value=6)
PEOPLE = 8


@given(capacities, st.integers(min_value=0, max_value=20), st.booleans())
def test_joins_fill_the_seats_then_the_waitlist_in_order(
    capacity: int, joins: int, waitlist: bool
) -> None:
    seats = Seats(published_event(capacity=capacity, waitlist=waitlist))
    refused = 0

    for number in range(joins):
        try:
            seats.join(user(number))
        except EventFull:
            refused += 1

    event = seats.event
    confirmed = min(joins, capacity)
    assert event.attendee_count == len(seats.confirmed()) == confirmed
    assert seats.confirmed() == [user(n) for n in range(confirmed)]
    if waitlist:
        tickets = [r.waitlist_ticket for r in seats.by_user.values() if r.waitlist_ticket]
        assert refused == 0
        assert event.waitlist_count == joins - confirmed
        assert tickets == sorted(set(tickets))
        assert seats.waitlisted_users() == [user(n) for n in range(confirmed, joins)]
    else:
        assert refused == joins - confirmed
        assert event.waitlist_count == 0
        assert len(seats.by_user) == confirmed


@dataclass(frozen=True)
class Join:
    who: int


@dataclass(frozen=True)
class Leave:
    who: int


@dataclass(frozen=True)
class Resize:
    capacity: int


people = st.integers(min_value=0, max_value=PEOPLE - 1)
moves = st.lists(
    st.one_of(
        st.builds(Join, people),
        st.builds(Leave, people),
        st.builds(Resize, st.integers(min_value=1, max_value=PEOPLE)),
    ),
    max_size=40,
)


@given(capacities, st.booleans(), moves)
def test_no_sequence_of_moves_overbooks_or_reorders_the_waitlist(
    capacity: int, waitlist: bool, sequence: list[Join | Leave | Resize]
) -> None:
    seats = Seats(published_event(capacity=capacity, waitlist=waitlist))
    queue: list[UUID] = []  # the waitlist as it must be: first come, first served
    last_ticket = 0

    for move in sequence:
        try:
            if isinstance(move, Join):
                registration = seats.join(user(move.who))
                if registration.waitlist_ticket is not None:
                    assert registration.waitlist_ticket > last_ticket
                    last_ticket = registration.waitlist_ticket
                    queue.append(registration.user_id)
            elif isinstance(move, Leave) and user(move.who) in seats.by_user:
                leaving = seats.by_user[user(move.who)]
                promoted = seats.leave(leaving.user_id)
                if leaving.status is RegistrationStatus.WAITLISTED:
                    queue.remove(leaving.user_id)
                    assert promoted is None
                elif queue:
                    assert promoted is not None
                    assert promoted.user_id == queue.pop(0)
                else:
                    assert promoted is None
            elif isinstance(move, Resize):
                promoted_list = seats.resize(move.capacity)
                assert [r.user_id for r in promoted_list] == queue[: len(promoted_list)]
                del queue[: len(promoted_list)]
        except AlreadyRegistered:
            assert isinstance(move, Join)
            assert user(move.who) in seats.by_user
        except EventFull:
            assert not waitlist
            assert seats.event.available_seats == 0
        except CapacityBelowAttendees:
            assert isinstance(move, Resize)
            assert move.capacity < seats.event.attendee_count

        event = seats.event
        assert event.attendee_count == len(seats.confirmed()) <= event.capacity.value
        assert event.waitlist_count == len(seats.waitlist())
        assert seats.waitlisted_users() == queue
        assert not queue or event.available_seats == 0, "a free seat while people wait"
        assert all(
            (r.status is RegistrationStatus.WAITLISTED) == (r.waitlist_ticket is not None)
            for r in seats.by_user.values()
        )
