"""The pure policy of application/authorization.py for co-organizers: who manages an
event (owner, co-organizers, admins) against who owns it (owner, admins)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest

from application.authorization import (
    can_manage_event,
    can_own_event,
    can_view_event,
    managed_event,
    owned_event,
)
from application.errors import NotAuthenticated
from application.principal import Principal
from domain.errors import NotAllowed, NotFound
from domain.event import EventStatus
from domain.users import Role


@dataclass(frozen=True)
class Organized:
    organizer_id: UUID
    status: EventStatus


OWNER = uuid4()
CO = uuid4()
DRAFT = Organized(OWNER, EventStatus.DRAFT)
PUBLISHED = Organized(OWNER, EventStatus.PUBLISHED)
TEAM = frozenset({CO})


def as_(user_id: UUID, role: Role) -> Principal:
    return Principal(user_id=user_id, role=role)


def test_a_co_organizer_manages_but_does_not_own() -> None:
    co = as_(CO, Role.ORGANIZER)

    assert can_manage_event(co, DRAFT, TEAM)
    assert can_view_event(co, DRAFT, TEAM)
    assert not can_own_event(co, DRAFT)
    assert managed_event(co, DRAFT, uuid4(), TEAM) is DRAFT
    with pytest.raises(NotAllowed):
        owned_event(co, DRAFT, uuid4(), TEAM)


def test_without_the_co_organizer_set_nobody_but_owner_and_admin_manages() -> None:
    co = as_(CO, Role.ORGANIZER)

    assert not can_manage_event(co, PUBLISHED)
    with pytest.raises(NotFound):
        managed_event(co, DRAFT, uuid4())


@pytest.mark.parametrize("role", [Role.ATTENDEE])
def test_a_demoted_co_organizer_has_no_rights(role: Role) -> None:
    demoted = as_(CO, role)

    assert not can_manage_event(demoted, PUBLISHED, TEAM)
    assert not can_view_event(demoted, DRAFT, TEAM)
    with pytest.raises(NotFound):
        managed_event(demoted, DRAFT, uuid4(), TEAM)
    with pytest.raises(NotAllowed):
        managed_event(demoted, PUBLISHED, uuid4(), TEAM)


def test_an_admin_in_the_set_is_an_admin_anyway() -> None:
    admin = as_(CO, Role.ADMIN)

    assert can_own_event(admin, DRAFT)
    assert owned_event(admin, DRAFT, uuid4(), TEAM) is DRAFT


def test_the_owner_owns_and_manages() -> None:
    owner = as_(OWNER, Role.ORGANIZER)

    assert can_own_event(owner, DRAFT)
    assert can_manage_event(owner, DRAFT, frozenset())
    assert owned_event(owner, PUBLISHED, uuid4(), TEAM) is PUBLISHED


def test_a_demoted_owner_neither_owns_nor_manages() -> None:
    demoted = as_(OWNER, Role.ATTENDEE)

    assert not can_own_event(demoted, PUBLISHED)
    assert not can_manage_event(demoted, PUBLISHED, TEAM)


def test_anonymous_callers_are_asked_to_sign_in_for_published_events() -> None:
    with pytest.raises(NotAuthenticated):
        owned_event(None, PUBLISHED, uuid4(), TEAM)
    with pytest.raises(NotFound):
        owned_event(None, DRAFT, uuid4(), TEAM)
