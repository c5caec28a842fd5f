"""Accounts: reading, self-service changes and closure, and the admin's user management."""

from __future__ import annotations

import copy
from datetime import timedelta
from uuid import UUID

import pytest

from adapters.memory.state import MemoryState
from application.accounts import ORGANIZER_ERASED
from application.errors import NotAuthenticated
from application.ports.idempotency import Claimed, StoredResponse, user_caller
from application.ports.notifications import NotificationKind
from application.ports.queries import PageRequest, UserCriteria, UserView
from application.principal import Principal
from application.sessions import TokenPair
from application.use_cases.close_own_account import CloseOwnAccountCommand
from application.use_cases.create_user import CreateUserCommand
from application.use_cases.delete_user import DeleteUserCommand
from application.use_cases.get_event import GetEventCommand
from application.use_cases.get_user import GetUserCommand
from application.use_cases.list_users import ListUsersCommand
from application.use_cases.refresh_session import RefreshCommand
from application.use_cases.sign_in import SignInCommand
from application.use_cases.sign_up import SignUpCommand
from application.use_cases.update_own_profile import UpdateOwnProfileCommand
from application.use_cases.update_user import UpdateUserCommand
from domain.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidValue,
    LastActiveAdmin,
    NotAllowed,
    NotFound,
)
from domain.event import EventStatus
from domain.registration import RegistrationStatus
from domain.users import ERASED_NAME, Role
from tests.unit.people import person
from tests.unit.world import PASSWORD, World

NEW_PASSWORD = "a brand new passphrase"


def snapshot(world: World) -> MemoryState:
    return copy.deepcopy(world.store.state)


async def sign_in(world: World, user: Principal, password: str = PASSWORD) -> TokenPair:
    email = (await world.user_view(user.user_id)).email
    return await world.sign_in.execute(SignInCommand(email=email, password=password))


async def signed_in(world: World, user: Principal) -> tuple[Principal, TokenPair]:
    """The user as IdentifyCaller sees them on one session, with that session's tokens."""
    pair = await sign_in(world, user)
    return await world.identify.execute(pair.access_token), pair


async def all_users(world: World, actor: Principal, criteria: UserCriteria) -> list[UserView]:
    page = await world.list_users.execute(
        ListUsersCommand(actor=actor, criteria=criteria, page=world.page())
    )
    assert page.next is None
    return page.items


# -- GetUser ------------------------------------------------------------------------------


async def test_anyone_signed_in_reads_their_own_account(world: World) -> None:
    me = await person(world, name="Grace Hopper")

    view = await world.get_user.execute(GetUserCommand(actor=me))

    assert view.id == me.user_id
    assert view.full_name == "Grace Hopper"
    assert view.role is Role.ATTENDEE
    # By id is for admins only, even for one's own account (the contract's /users/{id}).
    with pytest.raises(NotAllowed):
        await world.get_user.execute(GetUserCommand(actor=me, user_id=me.user_id))


async def test_an_admin_reads_any_account(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    other = await person(world, Role.ORGANIZER)

    view = await world.get_user.execute(GetUserCommand(actor=admin, user_id=other.user_id))

    assert view.id == other.user_id
    assert view.role is Role.ORGANIZER


@pytest.mark.parametrize("role", [Role.ATTENDEE, Role.ORGANIZER])
async def test_non_admins_may_not_read_other_accounts(world: World, role: Role) -> None:
    me = await person(world, role)
    other = await person(world)

    with pytest.raises(NotAllowed):
        await world.get_user.execute(GetUserCommand(actor=me, user_id=other.user_id))


async def test_reading_an_account_needs_a_caller(world: World) -> None:
    other = await person(world)

    with pytest.raises(NotAuthenticated):
        await world.get_user.execute(GetUserCommand(actor=None, user_id=other.user_id))
    with pytest.raises(NotAuthenticated):
        await world.get_user.execute(GetUserCommand(actor=None))


async def test_an_unknown_account_is_not_found(world: World) -> None:
    admin = await person(world, Role.ADMIN)

    with pytest.raises(NotFound):
        await world.get_user.execute(GetUserCommand(actor=admin, user_id=world.ids.new_id()))


# -- UpdateOwnProfile ---------------------------------------------------------------------


async def test_a_user_renames_themselves(world: World) -> None:
    me = await person(world, name="Ada")
    world.clock.advance(timedelta(hours=1))

    view = await world.update_own_profile.execute(
        UpdateOwnProfileCommand(actor=me, full_name="  Ada King  ")
    )

    stored = world.store.state.users[me.user_id]
    assert stored.full_name == view.full_name == "Ada King"
    assert stored.updated_at == world.clock.now()
    assert stored.created_at < stored.updated_at


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "bad\x00name"])
async def test_an_invalid_name_changes_nothing(world: World, name: str) -> None:
    me = await person(world)
    before = snapshot(world)

    with pytest.raises(InvalidValue) as raised:
        await world.update_own_profile.execute(UpdateOwnProfileCommand(actor=me, full_name=name))

    assert raised.value.field == "full_name"
    assert world.store.state == before


async def test_a_password_change_needs_the_current_password(world: World) -> None:
    me = await person(world)
    before = snapshot(world)

    for current in (None, "not the current password"):
        with pytest.raises(InvalidValue) as raised:
            await world.update_own_profile.execute(
                UpdateOwnProfileCommand(
                    actor=me, full_name="New Name", password=NEW_PASSWORD, current_password=current
                )
            )
        assert raised.value.field == "current_password"

    assert world.store.state == before
    await sign_in(world, me)  # the old password still works


@pytest.mark.parametrize("password", ["too short", "y" * 129, "password1234"])
async def test_a_new_password_meets_the_policy(world: World, password: str) -> None:
    me = await person(world)
    before = snapshot(world)

    with pytest.raises(InvalidValue) as raised:
        await world.update_own_profile.execute(
            UpdateOwnProfileCommand(actor=me, password=password, current_password=PASSWORD)
        )

    assert raised.value.field == "password"
    assert world.store.state == before


async def test_a_password_change_ends_the_other_sessions_but_not_the_callers(
    world: World,
) -> None:
    user = await person(world)
    me, mine = await signed_in(world, user)
    _, other = await signed_in(world, user)
    world.clock.advance(timedelta(minutes=1))

    await world.update_own_profile.execute(
        UpdateOwnProfileCommand(actor=me, password=NEW_PASSWORD, current_password=PASSWORD)
    )

    sessions = world.store.state.sessions
    assert me.session_id is not None
    assert sessions[me.session_id].revoked_at is None
    assert [s.revoked_at for s in sessions.values() if s.id != me.session_id] == [world.clock.now()]
    # The caller's session goes on ...
    assert (await world.identify.execute(mine.access_token)).user_id == me.user_id
    await world.refresh.execute(RefreshCommand(refresh_token=mine.refresh_token))
    # ... the other one is over.
    with pytest.raises(NotAuthenticated):
        await world.identify.execute(other.access_token)
    with pytest.raises(InvalidCredentials):
        await world.refresh.execute(RefreshCommand(refresh_token=other.refresh_token))
    # Only the new password opens new sessions.
    with pytest.raises(InvalidCredentials):
        await sign_in(world, user)
    await sign_in(world, user, NEW_PASSWORD)


async def test_a_rename_alone_keeps_every_session(world: World) -> None:
    user = await person(world)
    me, _ = await signed_in(world, user)
    await signed_in(world, user)

    await world.update_own_profile.execute(UpdateOwnProfileCommand(actor=me, full_name="Other"))

    assert all(s.revoked_at is None for s in world.store.state.sessions.values())


async def test_updating_a_profile_needs_an_active_account(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    me = await person(world)
    await world.update_user.execute(
        UpdateUserCommand(actor=admin, user_id=me.user_id, is_active=False)
    )
    before = snapshot(world)

    with pytest.raises(NotAuthenticated):
        await world.update_own_profile.execute(UpdateOwnProfileCommand(actor=None, full_name="X"))
    with pytest.raises(NotAuthenticated):
        await world.update_own_profile.execute(UpdateOwnProfileCommand(actor=me, full_name="X"))

    assert world.store.state == before


# -- CloseOwnAccount: erasing one's own account -------------------------------------------


async def test_erasing_an_account_releases_upcoming_seats_to_the_waitlist(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    user = await person(world)
    me, pair = await signed_in(world, user)
    email = (await world.user_view(user.user_id)).email
    waiting = await person(world)
    full = await world.event(organizer, capacity=1, waitlist=True)
    other = await world.event(organizer, capacity=5, starts_in=timedelta(days=14))
    await world.join(me, full.id)
    await world.join(waiting, full.id)
    await world.join(me, other.id)

    await world.close_own_account.execute(CloseOwnAccountCommand(actor=me))

    stored = world.store.state.users[me.user_id]
    assert not stored.is_active
    assert stored.erased_at == stored.updated_at == world.clock.now()
    (promoted,) = world.registrations(full.id)
    assert promoted.user_id == waiting.user_id
    assert promoted.status is RegistrationStatus.CONFIRMED
    assert world.registrations(other.id) == []
    assert world.store.state.events[full.id].attendee_count == 1
    assert world.store.state.events[full.id].waitlist_count == 0
    assert world.store.state.events[other.id].attendee_count == 0
    assert all(s.revoked_at is not None for s in world.store.state.sessions.values())
    with pytest.raises(NotAuthenticated):
        await world.identify.execute(pair.access_token)
    with pytest.raises(InvalidCredentials):
        await world.sign_in.execute(SignInCommand(email=email, password=PASSWORD))
    promotions = [n for n in world.outbox() if n.kind is NotificationKind.REGISTRATION_PROMOTED]
    assert [(n.recipient_id, n.event_id) for n in promotions] == [(waiting.user_id, full.id)]
    # Nothing is left to tell the erased person, not even that their seats ended.
    assert all(n.recipient_id != me.user_id for n in world.outbox())


async def test_erasing_an_account_replaces_its_personal_data_by_a_tombstone(world: World) -> None:
    me = await person(world, name="Grace Hopper")
    email = (await world.user_view(me.user_id)).email

    await world.close_own_account.execute(CloseOwnAccountCommand(actor=me))

    stored = world.store.state.users[me.user_id]
    assert (stored.full_name, stored.password_hash) == (ERASED_NAME, "")
    assert str(stored.email).endswith("@erased.invalid")
    assert email not in str(stored.email)
    assert await world.user_queries.get(me.user_id) is None
    # The address is free again.
    again = await world.sign_up.open_account(
        SignUpCommand(email=email, password=PASSWORD, full_name="Grace Hopper"), Role.ATTENDEE
    )
    assert again.id != me.user_id
    assert (await world.user_view(again.id)).email == email


async def test_erasing_keeps_past_registrations_only_as_counts(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    me = await person(world)
    other = await person(world)
    waiting = await person(world)
    past = await world.event(organizer, capacity=2, waitlist=True, starts_in=timedelta(hours=1))
    await world.join(me, past.id)
    await world.join(other, past.id)
    await world.join(waiting, past.id)
    world.clock.advance(timedelta(days=1))

    await world.close_own_account.execute(CloseOwnAccountCommand(actor=me))

    assert [r.user_id for r in world.registrations(past.id)] == [other.user_id, waiting.user_id]
    stored = world.store.state.events[past.id]
    assert (stored.attendee_count, stored.waitlist_count) == (2, 1)


async def test_erasing_forgets_a_waitlist_ticket_of_an_ended_event(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    seated = await person(world)
    me = await person(world)
    past = await world.event(organizer, capacity=1, waitlist=True, starts_in=timedelta(hours=1))
    await world.join(seated, past.id)
    await world.join(me, past.id)
    world.clock.advance(timedelta(days=1))

    await world.close_own_account.execute(CloseOwnAccountCommand(actor=me))

    assert [r.user_id for r in world.registrations(past.id)] == [seated.user_id]
    stored = world.store.state.events[past.id]
    assert (stored.attendee_count, stored.waitlist_count) == (1, 0)


async def test_erasing_an_organizer_cancels_upcoming_events_and_deletes_drafts(
    world: World,
) -> None:
    organizer = await person(world, Role.ORGANIZER)
    guest = await person(world)
    upcoming = await world.event(organizer)
    draft = await world.event(organizer, status=EventStatus.DRAFT)
    past = await world.event(organizer, starts_in=timedelta(hours=1))
    await world.join(guest, upcoming.id)
    await world.join(guest, past.id)
    await world.join(organizer, upcoming.id)
    world.clock.advance(timedelta(days=1))

    await world.close_own_account.execute(CloseOwnAccountCommand(actor=organizer))

    events = world.store.state.events
    assert draft.id not in events
    assert events[upcoming.id].status is EventStatus.CANCELLED
    assert events[upcoming.id].cancel_reason == ORGANIZER_ERASED
    assert events[past.id].status is EventStatus.PUBLISHED
    assert events[past.id].organizer_id == organizer.user_id
    assert [(r.user_id, r.status) for r in world.registrations(upcoming.id)] == [
        (guest.user_id, RegistrationStatus.CANCELLED)
    ]
    cancelled = [n for n in world.outbox() if n.kind is NotificationKind.EVENT_CANCELLED]
    assert [(n.recipient_id, n.event_id) for n in cancelled] == [(guest.user_id, upcoming.id)]
    view = await world.get_event.execute(GetEventCommand(actor=None, event_id=past.id))
    assert view.organizer.full_name == ERASED_NAME


async def test_erasing_drops_what_was_queued_for_the_person_and_mails_nobody(
    world: World,
) -> None:
    me = await person(world)
    other = await person(world)
    assert [n.kind for n in world.outbox() if n.recipient_id == me.user_id] == [
        NotificationKind.WELCOME
    ]
    others = [n for n in world.outbox() if n.recipient_id != me.user_id]

    await world.close_own_account.execute(CloseOwnAccountCommand(actor=me))

    assert world.outbox() == others
    assert any(n.recipient_id == other.user_id for n in others)


async def test_erasing_needs_an_active_account(world: World) -> None:
    me = await person(world)
    await world.close_own_account.execute(CloseOwnAccountCommand(actor=me))
    before = snapshot(world)

    with pytest.raises(NotAuthenticated):
        await world.close_own_account.execute(CloseOwnAccountCommand(actor=me))
    with pytest.raises(NotAuthenticated):
        await world.close_own_account.execute(CloseOwnAccountCommand(actor=None))

    assert world.store.state == before


# -- ListUsers ----------------------------------------------------------------------------


async def test_listing_users_is_for_admins_only(world: World) -> None:
    organizer = await person(world, Role.ORGANIZER)
    attendee = await person(world)

    def listing(actor: Principal | None) -> ListUsersCommand:
        return ListUsersCommand(actor=actor, criteria=UserCriteria(), page=world.page())

    for actor in (organizer, attendee):
        with pytest.raises(NotAllowed):
            await world.list_users.execute(listing(actor))
    with pytest.raises(NotAuthenticated):
        await world.list_users.execute(listing(None))


async def test_listing_users_filters_by_role_activity_and_text(world: World) -> None:
    admin = await person(world, Role.ADMIN, name="Root Admin")
    grace = await person(world, Role.ORGANIZER, name="Grace Hopper")
    alan = await person(world, Role.ATTENDEE, name="Alan Turing")
    edsger = await person(world, Role.ATTENDEE, name="Edsger Dijkstra")
    await world.update_user.execute(
        UpdateUserCommand(actor=admin, user_id=edsger.user_id, is_active=False)
    )
    alan_email = (await world.user_view(alan.user_id)).email

    def ids(views: list[UserView]) -> list[UUID]:
        return [v.id for v in views]

    everyone = [admin.user_id, grace.user_id, alan.user_id, edsger.user_id]
    assert ids(await all_users(world, admin, UserCriteria())) == everyone
    attendees = await all_users(world, admin, UserCriteria(role=Role.ATTENDEE))
    assert ids(attendees) == [alan.user_id, edsger.user_id]
    active = await all_users(world, admin, UserCriteria(is_active=True))
    assert ids(active) == [admin.user_id, grace.user_id, alan.user_id]
    inactive = await all_users(world, admin, UserCriteria(is_active=False))
    assert ids(inactive) == [edsger.user_id]
    both = UserCriteria(role=Role.ATTENDEE, is_active=True)
    assert ids(await all_users(world, admin, both)) == [alan.user_id]
    assert ids(await all_users(world, admin, UserCriteria(text="HOPPER"))) == [grace.user_id]
    by_email = UserCriteria(text=alan_email.upper())
    assert ids(await all_users(world, admin, by_email)) == [alan.user_id]
    assert await all_users(world, admin, UserCriteria(text="nobody by that name")) == []


async def test_listing_users_pages_through_everyone_once(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    others = [await person(world) for _ in range(6)]

    seen: list[UUID] = []
    page = PageRequest(limit=3)
    while True:
        result = await world.list_users.execute(
            ListUsersCommand(actor=admin, criteria=UserCriteria(), page=page)
        )
        assert len(result.items) <= 3
        seen += [v.id for v in result.items]
        if result.next is None:
            break
        page = PageRequest(limit=3, after=result.next)

    assert seen == [admin.user_id] + [o.user_id for o in others]


# -- CreateUser ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
async def test_an_admin_creates_accounts_with_any_role(world: World, role: Role) -> None:
    admin = await person(world, Role.ADMIN)

    view = await world.create_user.execute(
        CreateUserCommand(
            actor=admin, email="New@Example.org", password=PASSWORD, full_name="New", role=role
        )
    )

    stored = world.store.state.users[view.id]
    assert stored.role is role
    assert stored.is_active
    assert str(stored.email) == "new@example.org"
    welcome = [n for n in world.outbox() if n.recipient_id == view.id]
    assert [n.kind for n in welcome] == [NotificationKind.WELCOME]
    pair = await world.sign_in.execute(SignInCommand(email="new@example.org", password=PASSWORD))
    assert (await world.identify.execute(pair.access_token)).role is role


@pytest.mark.parametrize("role", [Role.ATTENDEE, Role.ORGANIZER])
async def test_only_admins_create_accounts(world: World, role: Role) -> None:
    actor = await person(world, role)
    before = snapshot(world)

    with pytest.raises(NotAllowed):
        await world.create_user.execute(
            CreateUserCommand(
                actor=actor, email="x@example.org", password=PASSWORD, full_name="X", role=role
            )
        )
    with pytest.raises(NotAuthenticated):
        await world.create_user.execute(
            CreateUserCommand(
                actor=None, email="x@example.org", password=PASSWORD, full_name="X", role=role
            )
        )

    assert world.store.state == before


async def test_created_accounts_follow_the_sign_up_rules(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    taken = (await world.user_view(admin.user_id)).email
    before = snapshot(world)

    with pytest.raises(EmailTaken):
        await world.create_user.execute(
            CreateUserCommand(
                actor=admin,
                email=taken.upper(),
                password=PASSWORD,
                full_name="X",
                role=Role.ORGANIZER,
            )
        )
    with pytest.raises(InvalidValue):
        await world.create_user.execute(
            CreateUserCommand(
                actor=admin,
                email="x@example.org",
                password="password1234",
                full_name="X",
                role=Role.ORGANIZER,
            )
        )

    assert world.store.state == before


# -- UpdateUser ---------------------------------------------------------------------------


async def test_an_admin_changes_name_and_role(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    user = await person(world, name="Old")
    world.clock.advance(timedelta(minutes=3))

    view = await world.update_user.execute(
        UpdateUserCommand(actor=admin, user_id=user.user_id, full_name="New", role=Role.ORGANIZER)
    )

    stored = world.store.state.users[user.user_id]
    assert (stored.full_name, stored.role) == ("New", Role.ORGANIZER)
    assert stored.updated_at == world.clock.now()
    assert view == UserView.of(stored)


async def test_deactivation_closes_the_account(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    organizer = await person(world, Role.ORGANIZER)
    user = await person(world)
    _, pair = await signed_in(world, user)
    waiting = await person(world)
    event = await world.event(organizer, capacity=1, waitlist=True)
    await world.join(user, event.id)
    await world.join(waiting, event.id)

    view = await world.update_user.execute(
        UpdateUserCommand(actor=admin, user_id=user.user_id, is_active=False)
    )

    assert not view.is_active
    assert not world.store.state.users[user.user_id].is_active
    (left,) = world.registrations(event.id)
    assert (left.user_id, left.status) == (waiting.user_id, RegistrationStatus.CONFIRMED)
    with pytest.raises(NotAuthenticated):
        await world.identify.execute(pair.access_token)
    with pytest.raises(InvalidCredentials):
        await sign_in(world, user)


async def test_reactivation_lets_the_user_sign_in_again(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    user = await person(world)
    await world.update_user.execute(
        UpdateUserCommand(actor=admin, user_id=user.user_id, is_active=False)
    )

    view = await world.update_user.execute(
        UpdateUserCommand(actor=admin, user_id=user.user_id, is_active=True)
    )

    assert view.is_active
    assert world.store.state.users[user.user_id].is_active
    me, _ = await signed_in(world, user)
    assert me.user_id == user.user_id


@pytest.mark.parametrize("role", [Role.ATTENDEE, Role.ORGANIZER])
async def test_only_admins_update_users(world: World, role: Role) -> None:
    actor = await person(world, role)
    target = await person(world)
    before = snapshot(world)

    with pytest.raises(NotAllowed):
        await world.update_user.execute(
            UpdateUserCommand(actor=actor, user_id=target.user_id, role=Role.ADMIN)
        )
    with pytest.raises(NotAuthenticated):
        await world.update_user.execute(
            UpdateUserCommand(actor=None, user_id=target.user_id, role=Role.ADMIN)
        )
    # A user cannot promote themselves either.
    with pytest.raises(NotAllowed):
        await world.update_user.execute(
            UpdateUserCommand(actor=actor, user_id=actor.user_id, role=Role.ADMIN)
        )

    assert world.store.state == before


async def test_updating_an_unknown_user_is_not_found(world: World) -> None:
    admin = await person(world, Role.ADMIN)

    with pytest.raises(NotFound):
        await world.update_user.execute(
            UpdateUserCommand(actor=admin, user_id=world.ids.new_id(), full_name="X")
        )


# -- DeleteUser: an admin erases an account ----------------------------------------------


async def test_deleting_a_user_erases_the_account(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    organizer = await person(world, Role.ORGANIZER)
    user = await person(world)
    _, pair = await signed_in(world, user)
    event = await world.event(organizer)
    await world.join(user, event.id)

    await world.delete_user.execute(DeleteUserCommand(actor=admin, user_id=user.user_id))

    assert world.store.state.users[user.user_id].is_erased
    assert world.registrations(event.id) == []
    assert world.store.state.events[event.id].attendee_count == 0
    with pytest.raises(NotAuthenticated):
        await world.identify.execute(pair.access_token)
    with pytest.raises(NotFound):
        await world.get_user.execute(GetUserCommand(actor=admin, user_id=user.user_id))
    listed = await all_users(world, admin, UserCriteria())
    assert user.user_id not in [view.id for view in listed]


async def test_deleting_erases_a_deactivated_account_too(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    user = await person(world)
    await world.update_user.execute(
        UpdateUserCommand(actor=admin, user_id=user.user_id, is_active=False)
    )
    assert not world.store.state.users[user.user_id].is_erased

    await world.delete_user.execute(DeleteUserCommand(actor=admin, user_id=user.user_id))

    assert world.store.state.users[user.user_id].is_erased


async def test_an_erased_account_is_not_found_any_more(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    user = await person(world)
    await world.delete_user.execute(DeleteUserCommand(actor=admin, user_id=user.user_id))
    world.clock.advance(timedelta(hours=1))
    before = snapshot(world)

    with pytest.raises(NotFound):
        await world.delete_user.execute(DeleteUserCommand(actor=admin, user_id=user.user_id))
    with pytest.raises(NotFound):  # reactivating a tombstone would revive nobody
        await world.update_user.execute(
            UpdateUserCommand(actor=admin, user_id=user.user_id, is_active=True)
        )

    assert world.store.state == before


async def test_deactivating_still_only_closes_the_account(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    organizer = await person(world, Role.ORGANIZER)
    event = await world.event(organizer)
    email = (await world.user_view(organizer.user_id)).email

    await world.update_user.execute(
        UpdateUserCommand(actor=admin, user_id=organizer.user_id, is_active=False)
    )

    stored = world.store.state.users[organizer.user_id]
    assert (stored.is_erased, stored.is_active, str(stored.email)) == (False, False, email)
    assert world.store.state.events[event.id].status is EventStatus.PUBLISHED
    await world.update_user.execute(
        UpdateUserCommand(actor=admin, user_id=organizer.user_id, is_active=True)
    )
    assert world.store.state.users[organizer.user_id].is_active


async def test_deleting_needs_an_admin_and_a_known_user(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    organizer = await person(world, Role.ORGANIZER)
    before = snapshot(world)

    with pytest.raises(NotAllowed):
        await world.delete_user.execute(DeleteUserCommand(actor=organizer, user_id=admin.user_id))
    with pytest.raises(NotAuthenticated):
        await world.delete_user.execute(DeleteUserCommand(actor=None, user_id=organizer.user_id))
    with pytest.raises(NotFound):
        await world.delete_user.execute(DeleteUserCommand(actor=admin, user_id=world.ids.new_id()))

    assert world.store.state == before


# -- the last active admin ----------------------------------------------------------------


async def test_the_last_active_admin_can_never_be_removed(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    # An inactive admin does not count.
    dormant = await person(world, Role.ADMIN)
    await world.update_user.execute(
        UpdateUserCommand(actor=admin, user_id=dormant.user_id, is_active=False)
    )
    before = snapshot(world)

    for role in (Role.ORGANIZER, Role.ATTENDEE):
        with pytest.raises(LastActiveAdmin):
            await world.update_user.execute(
                UpdateUserCommand(actor=admin, user_id=admin.user_id, role=role)
            )
    with pytest.raises(LastActiveAdmin):
        await world.update_user.execute(
            UpdateUserCommand(actor=admin, user_id=admin.user_id, is_active=False)
        )
    with pytest.raises(LastActiveAdmin):
        await world.update_user.execute(
            UpdateUserCommand(actor=admin, user_id=admin.user_id, full_name="X", is_active=False)
        )
    with pytest.raises(LastActiveAdmin):
        await world.delete_user.execute(DeleteUserCommand(actor=admin, user_id=admin.user_id))
    with pytest.raises(LastActiveAdmin):
        await world.close_own_account.execute(CloseOwnAccountCommand(actor=admin))

    assert world.store.state == before


async def test_with_two_admins_one_may_step_down_but_not_both(world: World) -> None:
    first = await person(world, Role.ADMIN)
    second = await person(world, Role.ADMIN)

    await world.update_user.execute(
        UpdateUserCommand(actor=first, user_id=second.user_id, role=Role.ORGANIZER)
    )

    assert world.store.state.users[second.user_id].role is Role.ORGANIZER
    before = snapshot(world)
    with pytest.raises(LastActiveAdmin):
        await world.update_user.execute(
            UpdateUserCommand(actor=first, user_id=first.user_id, role=Role.ORGANIZER)
        )
    assert world.store.state == before


@pytest.mark.parametrize("removal", ["deactivate", "delete", "close"])
async def test_with_two_admins_one_may_leave(world: World, removal: str) -> None:
    first = await person(world, Role.ADMIN)
    second = await person(world, Role.ADMIN)

    if removal == "deactivate":
        await world.update_user.execute(
            UpdateUserCommand(actor=first, user_id=second.user_id, is_active=False)
        )
    elif removal == "delete":
        await world.delete_user.execute(DeleteUserCommand(actor=first, user_id=second.user_id))
    else:
        await world.close_own_account.execute(CloseOwnAccountCommand(actor=second))

    assert not world.store.state.users[second.user_id].is_active
    with pytest.raises(LastActiveAdmin):
        await world.delete_user.execute(DeleteUserCommand(actor=first, user_id=first.user_id))


async def test_erasing_an_account_forgets_its_idempotency_keys_and_only_its(
    world: World,
) -> None:
    admin = await person(world, Role.ADMIN)
    leaving = await person(world)
    erased = await person(world)
    staying = await person(world)
    answer = StoredResponse(status=201, headers=(), body=b'{"email":"someone@example.com"}')
    for who in (leaving, erased, staying):
        for key in ("a", "b"):
            claim = await world.idempotency.claim(
                user_caller(who.user_id), key, "fingerprint", now=world.clock.now()
            )
            assert isinstance(claim, Claimed)
            assert await world.idempotency.complete(
                user_caller(who.user_id), key, claim.token, answer
            )

    await world.close_own_account.execute(CloseOwnAccountCommand(actor=leaving))
    await world.delete_user.execute(DeleteUserCommand(actor=admin, user_id=erased.user_id))

    assert {caller for caller, _ in world.store.state.idempotency_keys} == {
        user_caller(staying.user_id)
    }
