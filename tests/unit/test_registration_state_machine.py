"""Random join / leave / remove / resize / waitlist switch / cancel sequences, driven
through the real use cases of a World and checked against a first-come-first-served
model after every step.

The model: who holds a seat, who waits (in order), and who held a registration when
the event was cancelled. Every command is predicted first: either the exact domain
error it must raise (and then nothing in the store may change) or its effect.
"""

from __future__ import annotations

import asyncio
import copy
import os
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from application.ports.notifications import NotificationKind
from application.ports.queries import PageRequest, RegistrationView
from application.use_cases.cancel_event import CancelEventCommand
from application.use_cases.leave_event import LeaveEventCommand
from application.use_cases.register_for_event import RegisterForEventCommand
from application.use_cases.remove_attendee import RemoveAttendeeCommand
from application.use_cases.update_event import UpdateEventCommand
from domain.errors import (
    AlreadyRegistered,
    CapacityBelowAttendees,
    DomainError,
    EventFull,
    EventLocked,
    EventNotJoinable,
    InvalidTransition,
    InvalidValue,
    NotFound,
    NotRegistered,
)
from domain.event import Event, EventStatus
from domain.registration import Registration, RegistrationStatus
from domain.users import Role
from tests.unit.world import World

T = TypeVar("T")
#: How hard the machine looks. `fast` (the default) keeps `tests/unit` quick for a
#: developer; CI sets EVENTAPI_HYPOTHESIS_PROFILE=thorough and explores at length.
PROFILES = {
    "fast": settings(max_examples=10, stateful_step_count=30, deadline=None),
    "thorough": settings(max_examples=300, stateful_step_count=40, deadline=None),
}
PROFILE = os.environ.get("EVENTAPI_HYPOTHESIS_PROFILE", "fast")
if PROFILE not in PROFILES:
    raise ValueError(
        f"EVENTAPI_HYPOTHESIS_PROFILE must be one of {sorted(PROFILES)}, not {PROFILE!r}"
    )
ATTENDEES = 5
Kind = NotificationKind
Refusal = type[DomainError] | None

people = st.integers(min_value=0, max_value=ATTENDEES - 1)
event_created = precondition(lambda machine: machine.event_id is not None)


@PROFILES[PROFILE]
class RegistrationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.world = World()
        try:
            self.organizer = self.run(self.world.user(Role.ORGANIZER, "Grace Hopper"))
            self.people = [
                self.run(self.world.user(name=f"Attendee {n}")) for n in range(ATTENDEES)
            ]
        except BaseException:
            self.loop.close()  # teardown() is not called when __init__ fails
            raise
        self.event_id: UUID | None = None
        # -- the model --
        self.capacity = 0
        self.waitlist_enabled = False
        self.cancelled = False
        self.confirmed: list[UUID] = []
        #: First in line first.
        self.waitlist: list[UUID] = []
        #: Who held a registration when the event was cancelled.
        self.cancelled_holders: set[UUID] = set()
        #: The id of each user's latest registration (stale once they left).
        self.registration_ids: dict[UUID, UUID] = {}

    def teardown(self) -> None:
        self.loop.close()

    # -- plumbing ------------------------------------------------------------------------

    def run(self, action: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(action)

    @property
    def event(self) -> UUID:
        assert self.event_id is not None
        return self.event_id

    def attempt(
        self,
        refusal: Refusal,
        action: Coroutine[Any, Any, T],
        notified: list[tuple[Kind, UUID]] | None = None,
    ) -> T | None:
        """Run `action`: it raises exactly `refusal` and changes nothing, or it succeeds
        and queues exactly the `notified` (kind, recipient) pairs."""
        before = copy.deepcopy(self.world.store.state)
        if refusal is not None:
            with pytest.raises(DomainError) as raised:
                self.run(action)
            assert raised.type is refusal, f"expected {refusal.__name__}, got {raised.value!r}"
            assert self.world.store.state == before, "a refused command changed the store"
            return None
        result = self.run(action)
        queued = self.world.store.state.outbox[len(before.outbox) :]
        assert sorted((n.kind, n.recipient_id) for n in queued) == sorted(notified or [])
        return result

    def holds(self, user_id: UUID) -> bool:
        return user_id in self.confirmed or user_id in self.waitlist

    def stored_event(self) -> Event:
        return self.world.store.state.events[self.event]

    def stored_registrations(self) -> list[Registration]:
        return self.world.registrations(self.event)

    def waitlisted_views(self) -> list[RegistrationView]:
        page = self.run(
            self.world.registration_queries.attendees(
                self.event, RegistrationStatus.WAITLISTED, PageRequest(limit=100)
            )
        )
        assert page.next is None
        return page.items

    def release(self, user_id: UUID) -> list[tuple[Kind, UUID]]:
        """The model's leave; returns the notifications it causes."""
        notified = [(Kind.REGISTRATION_ENDED, user_id)]
        if user_id in self.waitlist:
            self.waitlist.remove(user_id)
        else:
            self.confirmed.remove(user_id)
            if self.waitlist:
                promoted = self.waitlist.pop(0)
                self.confirmed.append(promoted)
                notified.append((Kind.REGISTRATION_PROMOTED, promoted))
        return notified

    def promote_into_free_seats(self) -> list[tuple[Kind, UUID]]:
        notified = []
        while self.waitlist and len(self.confirmed) < self.capacity:
            promoted = self.waitlist.pop(0)
            self.confirmed.append(promoted)
            notified.append((Kind.REGISTRATION_PROMOTED, promoted))
        return notified

    # -- set-up --------------------------------------------------------------------------

    @initialize(capacity=st.integers(min_value=1, max_value=4), waitlist=st.booleans())
    def publish_event(self, capacity: int, waitlist: bool) -> None:
        view = self.run(self.world.event(self.organizer, capacity=capacity, waitlist=waitlist))
        assert view.status is EventStatus.PUBLISHED
        self.event_id = view.id
        self.capacity, self.waitlist_enabled = capacity, waitlist

    # -- rules ---------------------------------------------------------------------------

    @rule(who=people)
    def join(self, who: int) -> None:
        self.world.clock.advance(timedelta(minutes=1))
        actor = self.people[who]
        user_id = actor.user_id
        seat_free = len(self.confirmed) < self.capacity
        refusal: Refusal = None
        if self.cancelled:
            refusal = EventNotJoinable
        elif self.holds(user_id):
            refusal = AlreadyRegistered
        elif not seat_free and not self.waitlist_enabled:
            refusal = EventFull
        kind = Kind.REGISTRATION_CONFIRMED if seat_free else Kind.REGISTRATION_WAITLISTED
        view = self.attempt(
            refusal,
            self.world.register.execute(RegisterForEventCommand(actor=actor, event_id=self.event)),
            [(kind, user_id)],
        )
        if view is None:
            return
        self.registration_ids[user_id] = view.id
        if seat_free:
            self.confirmed.append(user_id)
            assert (view.status, view.waitlist_position) == (RegistrationStatus.CONFIRMED, None)
        else:
            self.waitlist.append(user_id)
            assert view.status is RegistrationStatus.WAITLISTED
            assert view.waitlist_position == len(self.waitlist)

    @rule(who=people)
    def leave(self, who: int) -> None:
        self.world.clock.advance(timedelta(minutes=1))
        actor = self.people[who]
        user_id = actor.user_id
        refusal: Refusal = None
        if user_id in self.cancelled_holders:
            refusal = EventLocked
        elif not self.holds(user_id):
            refusal = NotRegistered
        notified = self.release(user_id) if refusal is None else []
        self.attempt(
            refusal,
            self.world.leave.execute(LeaveEventCommand(actor=actor, event_id=self.event)),
            notified,
        )

    @rule(who=people)
    def remove(self, who: int) -> None:
        """The organizer removes `who` by the id of their latest registration, which
        may be long gone (or never existed)."""
        self.world.clock.advance(timedelta(minutes=1))
        user_id = self.people[who].user_id
        registration_id = self.registration_ids.get(user_id) or self.world.ids.new_id()
        refusal: Refusal = None
        if user_id in self.cancelled_holders:
            refusal = EventLocked
        elif not self.holds(user_id):
            refusal = NotFound
        notified = self.release(user_id) if refusal is None else []
        self.attempt(
            refusal,
            self.world.remove_attendee.execute(
                RemoveAttendeeCommand(
                    actor=self.organizer, event_id=self.event, registration_id=registration_id
                )
            ),
            notified,
        )
        if refusal is None:
            (ended,) = [n for n in self.world.outbox() if n.kind is Kind.REGISTRATION_ENDED][-1:]
            assert ended.recipient_id == user_id
            assert ended.details == {"removed_by_organizer": "true"}

    @rule(capacity=st.integers(min_value=0, max_value=6))
    def change_capacity(self, capacity: int) -> None:
        self.world.clock.advance(timedelta(minutes=1))
        refusal: Refusal = None
        if self.cancelled:
            refusal = EventLocked
        elif capacity < 1:
            refusal = InvalidValue
        elif capacity < len(self.confirmed):
            refusal = CapacityBelowAttendees
        notified: list[tuple[Kind, UUID]] = []
        if refusal is None:
            self.capacity = capacity
            notified = self.promote_into_free_seats()
        view = self.attempt(
            refusal,
            self.world.update_event.execute(
                UpdateEventCommand(actor=self.organizer, event_id=self.event, capacity=capacity)
            ),
            notified,
        )
        if view is not None:
            assert (view.capacity, view.attendee_count, view.waitlist_count) == (
                self.capacity,
                len(self.confirmed),
                len(self.waitlist),
            )

    @rule(enabled=st.booleans())
    def switch_waitlist(self, enabled: bool) -> None:
        self.world.clock.advance(timedelta(minutes=1))
        refusal = EventLocked if self.cancelled else None
        self.attempt(
            refusal,
            self.world.update_event.execute(
                UpdateEventCommand(
                    actor=self.organizer, event_id=self.event, waitlist_enabled=enabled
                )
            ),
        )
        if refusal is None:
            self.waitlist_enabled = enabled

    @rule(through_update=st.booleans())
    def cancel(self, through_update: bool) -> None:
        self.world.clock.advance(timedelta(minutes=1))
        refusal: Refusal = None
        if self.cancelled:
            refusal = EventLocked if through_update else InvalidTransition
        holders = self.confirmed + self.waitlist
        action = (
            self.world.update_event.execute(
                UpdateEventCommand(
                    actor=self.organizer, event_id=self.event, status=EventStatus.CANCELLED
                )
            )
            if through_update
            else self.world.cancel_event.execute(
                CancelEventCommand(actor=self.organizer, event_id=self.event, reason="Flooded")
            )
        )
        view = self.attempt(refusal, action, [(Kind.EVENT_CANCELLED, u) for u in holders])
        if view is None:
            return
        assert view.status is EventStatus.CANCELLED
        self.cancelled = True
        self.cancelled_holders = set(holders)
        self.confirmed, self.waitlist = [], []

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    @event_created
    def confirmed_never_exceed_capacity(self) -> None:
        event = self.stored_event()
        confirmed = [
            r for r in self.stored_registrations() if r.status is RegistrationStatus.CONFIRMED
        ]
        assert len(confirmed) <= event.capacity.value
        assert event.attendee_count <= event.capacity.value

    @invariant()
    @event_created
    def counters_match_the_registrations(self) -> None:
        event = self.stored_event()
        statuses = [r.status for r in self.stored_registrations()]
        assert event.attendee_count == statuses.count(RegistrationStatus.CONFIRMED)
        assert event.waitlist_count == statuses.count(RegistrationStatus.WAITLISTED)

    @invariant()
    @event_created
    def nobody_holds_two_registrations(self) -> None:
        holders = [r.user_id for r in self.stored_registrations()]
        assert len(holders) == len(set(holders))

    @invariant()
    @event_created
    def nobody_waits_beside_a_free_seat(self) -> None:
        event = self.stored_event()
        assert event.waitlist_count == 0 or event.available_seats == 0

    @invariant()
    @event_created
    def the_waitlist_is_first_come_first_served_with_positions_1_to_n(self) -> None:
        waiting = sorted(
            (r for r in self.stored_registrations() if r.status is RegistrationStatus.WAITLISTED),
            key=lambda r: r.waitlist_ticket or 0,
        )
        assert [r.user_id for r in waiting] == self.waitlist
        tickets = [r.waitlist_ticket for r in waiting]
        assert None not in tickets
        assert len(set(tickets)) == len(tickets)
        views = self.waitlisted_views()
        assert [v.user_id for v in views] == self.waitlist  # listed in join order
        assert [v.waitlist_position for v in views] == list(range(1, len(self.waitlist) + 1))

    @invariant()
    @event_created
    def a_cancelled_event_holds_nobody(self) -> None:
        event = self.stored_event()
        if event.status is not EventStatus.CANCELLED:
            return
        assert (event.attendee_count, event.waitlist_count) == (0, 0)
        for registration in self.stored_registrations():
            assert registration.status is RegistrationStatus.CANCELLED
            assert registration.waitlist_ticket is None
        everyone = self.run(
            self.world.registration_queries.attendees(self.event, None, PageRequest(limit=100))
        )
        assert everyone.items == []

    @invariant()
    @event_created
    def the_store_matches_the_model(self) -> None:
        event = self.stored_event()
        expected_status = EventStatus.CANCELLED if self.cancelled else EventStatus.PUBLISHED
        assert event.status is expected_status
        assert (event.capacity.value, event.waitlist_enabled) == (
            self.capacity,
            self.waitlist_enabled,
        )
        expected = dict.fromkeys(self.confirmed, RegistrationStatus.CONFIRMED)
        expected |= dict.fromkeys(self.waitlist, RegistrationStatus.WAITLISTED)
        expected |= dict.fromkeys(self.cancelled_holders, RegistrationStatus.CANCELLED)
        stored = {r.user_id: (r.id, r.status) for r in self.stored_registrations()}
        assert stored == {u: (self.registration_ids[u], s) for u, s in expected.items()}


TestRegistrationMachine = RegistrationMachine.TestCase
