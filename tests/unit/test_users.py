"""domain/users.py: role ranks, the last active admin, refresh-token rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.domain_events import (
    AccountActivated,
    AccountDeactivated,
    AccountErased,
    PasswordChanged,
    RoleChanged,
)
from domain.errors import InvalidCredentials, InvalidValue, LastActiveAdmin, NotFound
from domain.users import ERASED_NAME, AuthSession, Role, User
from domain.values import EmailAddress

NOW = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
ROLES = [Role.ATTENDEE, Role.ORGANIZER, Role.ADMIN]


def a_user(role: Role, *, active: bool = True) -> User:
    return User(
        id=UUID(int=7),
        email=EmailAddress("ada@example.org"),
        full_name="Ada Lovelace",
        role=role,
        password_hash="hash",
        is_active=active,
        created_at=NOW,
        updated_at=NOW,
    )


def a_session() -> AuthSession:
    return AuthSession(
        id=UUID(int=8),
        user_id=UUID(int=7),
        current_token_digest="first",
        created_at=NOW,
        expires_at=NOW + timedelta(days=30),
    )


# -- roles ---------------------------------------------------------------------------------


def test_roles_rank_attendee_below_organizer_below_admin() -> None:
    assert [role.rank for role in ROLES] == [0, 1, 2]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("needed", ROLES)
def test_a_role_is_at_least_every_role_ranked_no_higher(role: Role, needed: Role) -> None:
    assert role.at_least(needed) is (ROLES.index(role) >= ROLES.index(needed))


# -- users ---------------------------------------------------------------------------------


def test_a_full_name_is_trimmed_and_required() -> None:
    user = a_user(Role.ATTENDEE)

    user.rename("  Grace Hopper ", LATER)

    assert (user.full_name, user.updated_at) == ("Grace Hopper", LATER)
    with pytest.raises(InvalidValue):
        user.rename("  ", LATER)
    assert user.full_name == "Grace Hopper"


@pytest.mark.parametrize("role", [Role.ATTENDEE, Role.ORGANIZER])
def test_the_last_active_admin_cannot_be_demoted(role: Role) -> None:
    admin = a_user(Role.ADMIN)

    with pytest.raises(LastActiveAdmin):
        admin.change_role(role, active_admins=1, now=LATER)

    assert (admin.role, admin.updated_at) == (Role.ADMIN, NOW)


def test_an_admin_is_demoted_while_another_admin_remains() -> None:
    admin = a_user(Role.ADMIN)

    admin.change_role(Role.ORGANIZER, active_admins=2, now=LATER)

    assert (admin.role, admin.updated_at) == (Role.ORGANIZER, LATER)


def test_the_last_admin_may_stay_admin() -> None:
    admin = a_user(Role.ADMIN)

    admin.change_role(Role.ADMIN, active_admins=1, now=LATER)

    assert admin.role is Role.ADMIN


def test_an_inactive_admin_is_not_the_last_active_one() -> None:
    admin = a_user(Role.ADMIN, active=False)

    admin.change_role(Role.ATTENDEE, active_admins=1, now=LATER)

    assert admin.role is Role.ATTENDEE


@pytest.mark.parametrize("role", [Role.ATTENDEE, Role.ORGANIZER])
def test_other_users_change_role_whatever_the_admin_count(role: Role) -> None:
    user = a_user(role)

    user.change_role(Role.ADMIN, active_admins=0, now=LATER)
    assert user.role is Role.ADMIN


def test_the_last_active_admin_cannot_be_deactivated() -> None:
    admin = a_user(Role.ADMIN)

    with pytest.raises(LastActiveAdmin):
        admin.deactivate(active_admins=1, now=LATER)

    assert admin.is_active
    assert admin.is_active_admin


def test_an_admin_is_deactivated_while_another_admin_remains() -> None:
    admin = a_user(Role.ADMIN)

    admin.deactivate(active_admins=2, now=LATER)

    assert not admin.is_active
    assert not admin.is_active_admin
    assert admin.updated_at == LATER


def test_any_other_user_is_deactivated_and_reactivated() -> None:
    user = a_user(Role.ORGANIZER)

    user.deactivate(active_admins=1, now=LATER)
    deactivated = (user.is_active, user.updated_at)
    user.activate(LATER + timedelta(minutes=1))

    assert deactivated == (False, LATER)
    assert (user.is_active, user.updated_at) == (True, LATER + timedelta(minutes=1))


def test_changes_an_audit_reports_are_recorded_once_and_only_when_real() -> None:
    user = a_user(Role.ATTENDEE)

    user.change_role(Role.ORGANIZER, active_admins=1, now=LATER)
    user.change_role(Role.ORGANIZER, active_admins=1, now=LATER)  # no change
    user.deactivate(active_admins=1, now=LATER)
    user.deactivate(active_admins=1, now=LATER)  # already inactive
    user.activate(LATER)
    user.activate(LATER)  # already active
    user.change_password("new hash", LATER)
    user.set_password_hash("rehashed", LATER)  # the same password: no fact

    assert user.pull_recorded() == [
        RoleChanged(occurred_at=LATER, user_id=user.id, previous_role="attendee", role="organizer"),
        AccountDeactivated(occurred_at=LATER, user_id=user.id),
        AccountActivated(occurred_at=LATER, user_id=user.id),
        PasswordChanged(occurred_at=LATER, user_id=user.id),
    ]


# -- sessions ------------------------------------------------------------------------------


def test_erasing_leaves_a_tombstone_and_records_the_fact() -> None:
    user = a_user(Role.ORGANIZER)

    user.erase(active_admins=1, now=LATER)

    assert user.is_erased and not user.is_active
    assert (user.full_name, user.password_hash) == (ERASED_NAME, "")
    assert str(user.email) == f"erased-{user.id.hex}@erased.invalid"
    assert (user.erased_at, user.updated_at) == (LATER, LATER)
    assert user.pull_recorded() == [AccountErased(occurred_at=LATER, user_id=user.id)]


def test_the_last_active_admin_cannot_be_erased() -> None:
    user = a_user(Role.ADMIN)

    with pytest.raises(LastActiveAdmin):
        user.erase(active_admins=1, now=LATER)

    assert user == a_user(Role.ADMIN)
    assert user.recorded == []
    user.erase(active_admins=2, now=LATER)
    assert user.is_erased


def test_an_inactive_admin_is_erased_whatever_the_admin_count() -> None:
    user = a_user(Role.ADMIN, active=False)
    user.erase(active_admins=0, now=LATER)
    assert user.is_erased


def test_an_erased_account_can_be_neither_erased_again_nor_reactivated() -> None:
    user = a_user(Role.ATTENDEE)
    user.erase(active_admins=0, now=LATER)
    erased = a_user(Role.ATTENDEE)
    erased.erase(active_admins=0, now=LATER)
    erased.recorded.clear()
    user.recorded.clear()

    with pytest.raises(NotFound):
        user.erase(active_admins=0, now=LATER + timedelta(hours=1))
    with pytest.raises(NotFound):
        user.activate(LATER + timedelta(hours=1))

    assert user == erased and user.recorded == []


def test_rotating_swaps_the_current_token() -> None:
    session = a_session()

    session.rotate("first", "second", LATER)
    session.rotate("second", "third", LATER)

    assert session.current_token_digest == "third"
    assert session.spent_digests == {"first", "second"}
    assert session.is_usable(LATER)


def test_presenting_a_spent_token_revokes_the_whole_session() -> None:
    session = a_session()
    session.rotate("first", "second", NOW)

    with pytest.raises(InvalidCredentials):
        session.rotate("first", "stolen", LATER)

    assert session.revoked_at == LATER
    assert session.current_token_digest == "second"
    assert not session.is_usable(LATER)
    with pytest.raises(InvalidCredentials):
        session.rotate("second", "third", LATER)
    assert session.current_token_digest == "second"


def test_an_expired_session_refuses_to_rotate() -> None:
    session = a_session()

    with pytest.raises(InvalidCredentials):
        session.rotate("first", "second", session.expires_at)

    assert session.current_token_digest == "first"
    assert session.revoked_at is None
    assert session.is_usable(session.expires_at - timedelta(microseconds=1))


def test_a_revoked_session_refuses_to_rotate_and_keeps_its_first_revocation() -> None:
    session = a_session()
    session.revoke(NOW)
    session.revoke(LATER)

    with pytest.raises(InvalidCredentials):
        session.rotate("first", "second", LATER)

    assert session.revoked_at == NOW
    assert session.current_token_digest == "first"
