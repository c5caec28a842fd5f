"""Sign-up, sign-in, refresh, revoke and caller identification, on the in-memory world."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

import pytest

from adapters.bcrypt_hasher import BcryptHasher
from adapters.memory.fakes import FixedClock
from adapters.memory.rate_limiter import MemoryRateLimiter
from adapters.memory.state import MemoryState
from application.errors import NotAuthenticated, TooManyAttempts
from application.ports.notifications import NotificationKind
from application.ports.queries import UserView
from application.principal import Principal
from application.sessions import TokenPair
from application.use_cases.refresh_session import RefreshCommand
from application.use_cases.revoke_token import RevokeCommand
from application.use_cases.sign_in import SignInCommand
from application.use_cases.sign_up import SignUpCommand
from application.use_cases.update_own_profile import UpdateOwnProfileCommand
from application.use_cases.update_user import UpdateUserCommand
from domain.errors import EmailTaken, InvalidCredentials, InvalidValue
from domain.users import Role
from tests.unit.people import person
from tests.unit.world import PASSWORD, World

NEW_PASSWORD = "a brand new passphrase"


def snapshot(world: World) -> MemoryState:
    return copy.deepcopy(world.store.state)


async def sign_up(
    world: World, email: str = "ada@example.org", password: str = PASSWORD
) -> UserView:
    return await world.sign_up.execute(
        SignUpCommand(email=email, password=password, full_name="Ada Lovelace")
    )


async def sign_in(
    world: World, email: str = "ada@example.org", password: str = PASSWORD
) -> TokenPair:
    return await world.sign_in.execute(SignInCommand(email=email, password=password))


async def email_of(world: World, principal: Principal) -> str:
    return (await world.user_view(principal.user_id)).email


# -- SignUp -------------------------------------------------------------------------------


async def test_sign_up_creates_an_active_attendee_with_a_hashed_password(world: World) -> None:
    view = await world.sign_up.execute(
        SignUpCommand(email="  Ada@Example.ORG ", password=PASSWORD, full_name=" Ada ")
    )

    stored = world.store.state.users[view.id]
    assert stored.role is Role.ATTENDEE
    assert stored.is_active
    assert str(stored.email) == "ada@example.org"
    assert stored.full_name == "Ada"
    assert "$2b$" in stored.password_hash  # bcrypt, behind the pepper id
    assert PASSWORD not in stored.password_hash
    assert stored.created_at == stored.updated_at == world.clock.now()
    assert view.role is Role.ATTENDEE
    assert view.email == "ada@example.org"
    assert not hasattr(view, "password_hash")


async def test_sign_up_queues_exactly_one_welcome_notification(world: World) -> None:
    view = await world.sign_up.execute(
        SignUpCommand(email="ada@example.org", password=PASSWORD, full_name="Ada")
    )

    (welcome,) = world.outbox()
    assert welcome.kind is NotificationKind.WELCOME
    assert welcome.recipient_id == view.id
    assert welcome.event_id is None
    assert welcome.created_at == world.clock.now()


@pytest.mark.parametrize("again", ["ada@example.org", "ADA@EXAMPLE.ORG", " Ada@example.org "])
async def test_sign_up_refuses_an_email_in_use_case_insensitively(world: World, again: str) -> None:
    await sign_up(world, "Ada@Example.org")
    before = snapshot(world)

    with pytest.raises(EmailTaken):
        await sign_up(world, again)

    assert world.store.state == before
    assert len(world.store.state.users) == 1


async def test_concurrent_sign_ups_with_one_email_open_one_account(world: World) -> None:
    outcomes = await asyncio.gather(
        sign_up(world, "ada@example.org"),
        sign_up(world, "ADA@example.org"),
        sign_up(world, "Ada@Example.org"),
        return_exceptions=True,
    )

    (created,) = [o for o in outcomes if isinstance(o, UserView)]
    assert [type(o) for o in outcomes if not isinstance(o, UserView)] == [EmailTaken] * 2
    assert list(world.store.state.users) == [created.id]
    assert [n.recipient_id for n in world.outbox()] == [created.id]


async def test_sign_up_refuses_a_malformed_email(world: World) -> None:
    with pytest.raises(InvalidValue) as raised:
        await sign_up(world, "not-an-email")

    assert raised.value.field == "email"
    assert world.store.state == MemoryState()


@pytest.mark.parametrize(
    "password",
    [
        "a" * 11,  # one short
        "b" * 129,  # one long
        "",
        "password1234",  # on the common list
        "Password1234",  # ... compared case-insensitively
        "QWERTYUIOPAS",
    ],
)
async def test_sign_up_enforces_the_password_policy(world: World, password: str) -> None:
    with pytest.raises(InvalidValue) as raised:
        await sign_up(world, password=password)

    assert raised.value.field == "password"
    assert world.store.state == MemoryState()


@pytest.mark.parametrize(
    "password",
    [
        "c" * 12,
        "d" * 128,
        "пароль секрет 😀",  # any Unicode, spaces included
        "😀" * 128,  # 128 characters, 512 bytes
    ],
)
async def test_sign_up_accepts_any_password_of_12_to_128_characters(
    world: World, password: str
) -> None:
    await sign_up(world, password=password)

    pair = await sign_in(world, password=password)
    assert (await world.identify.execute(pair.access_token)).role is Role.ATTENDEE


async def test_a_password_longer_than_72_bytes_counts_in_full(world: World) -> None:
    shared = "🎉" * 18  # 72 bytes in UTF-8: all bcrypt would read by itself
    assert len(shared.encode()) == 72
    password = shared + "-the-real-tail"
    await sign_up(world, password=password)

    pair = await sign_in(world, password=password)
    assert pair.access_token

    with pytest.raises(InvalidCredentials):
        await sign_in(world, password=shared + "-another-tail")
    with pytest.raises(InvalidCredentials):
        await sign_in(world, password=shared)
    assert len(world.store.state.sessions) == 1


# -- SignInWithPassword -------------------------------------------------------------------


async def test_sign_in_gives_a_token_pair_for_a_new_session(world: World) -> None:
    await sign_up(world)

    pair = await sign_in(world, email="ADA@example.org")

    caller = await world.identify.execute(pair.access_token)
    (session,) = world.store.state.sessions.values()
    assert caller.session_id == session.id
    assert caller.user_id == session.user_id
    assert caller.role is Role.ATTENDEE
    assert pair.expires_in == world.tokens.access_ttl_seconds
    assert pair.refresh_token != pair.access_token
    # Only a digest of the refresh token is stored.
    assert session.current_token_digest == world.tokens.digest(pair.refresh_token)
    assert session.current_token_digest != pair.refresh_token
    assert session.revoked_at is None
    assert session.expires_at > world.clock.now()


async def test_every_sign_in_opens_its_own_session(world: World) -> None:
    await sign_up(world)

    first = await sign_in(world)
    second = await sign_in(world)

    a = await world.identify.execute(first.access_token)
    b = await world.identify.execute(second.access_token)
    assert a.session_id != b.session_id
    assert len(world.store.state.sessions) == 2


async def test_unknown_email_wrong_password_and_inactive_account_look_the_same(
    world: World,
) -> None:
    admin = await person(world, Role.ADMIN)
    ada = await sign_up(world, "ada@example.org")
    bob = await sign_up(world, "bob@example.org")
    await world.update_user.execute(UpdateUserCommand(actor=admin, user_id=bob.id, is_active=False))
    before = snapshot(world)

    messages: list[str] = []
    for email, password in [
        ("nobody@example.org", PASSWORD),
        ("ada@example.org", PASSWORD + "!"),
        ("bob@example.org", PASSWORD),
        ("not an email", PASSWORD),
    ]:
        with pytest.raises(InvalidCredentials) as raised:
            await sign_in(world, email, password)
        messages.append(str(raised.value))

    assert len(set(messages)) == 1
    # Nothing changed but the audit log, where each refusal names an account or none.
    assert dataclasses.replace(world.store.state, audit=before.audit) == before
    refusals = world.store.state.audit[len(before.audit) :]
    assert [(entry.subject_id, entry.details["reason"]) for entry in refusals] == [
        (None, "unknown_account"),
        (ada.id, "wrong_password"),
        (bob.id, "inactive_account"),
        (None, "unknown_account"),
    ]


async def test_the_eleventh_password_check_in_15_minutes_is_refused(world: World) -> None:
    await sign_up(world)
    for _ in range(10):
        with pytest.raises(InvalidCredentials):
            await sign_in(world, password="wrong password!")

    with pytest.raises(TooManyAttempts) as raised:
        await sign_in(world, password=PASSWORD)  # even the right one

    assert raised.value.retry_after > 0
    assert world.store.state.sessions == {}


async def test_the_account_limit_counts_successes_and_ignores_email_case(world: World) -> None:
    await sign_up(world)
    for attempt in range(10):
        await sign_in(world, email="ada@example.org" if attempt % 2 else "ADA@EXAMPLE.ORG")

    with pytest.raises(TooManyAttempts):
        await sign_in(world, email="Ada@Example.org")
    assert len(world.store.state.sessions) == 10


async def test_the_account_limit_is_per_account(world: World) -> None:
    await sign_up(world, "ada@example.org")
    await sign_up(world, "bob@example.org")
    for _ in range(10):
        with pytest.raises(InvalidCredentials):
            await sign_in(world, "ada@example.org", "wrong password!")

    pair = await sign_in(world, "bob@example.org")

    assert (await world.identify.execute(pair.access_token)).role is Role.ATTENDEE


async def test_unknown_emails_are_rate_limited_too() -> None:
    world = World()
    for _ in range(10):
        with pytest.raises(InvalidCredentials):
            await sign_in(world, "nobody@example.org")

    with pytest.raises(TooManyAttempts):
        await sign_in(world, "nobody@example.org")


async def test_the_account_limit_recovers_after_15_minutes() -> None:
    clock = FixedClock()
    world = World(clock=clock, limiter=MemoryRateLimiter(lambda: clock.now().timestamp()))
    await sign_up(world)
    for _ in range(10):
        with pytest.raises(InvalidCredentials):
            await sign_in(world, password="wrong password!")

    world.clock.advance(timedelta(minutes=14, seconds=59))
    with pytest.raises(TooManyAttempts) as raised:
        await sign_in(world)
    assert raised.value.retry_after == 1

    world.clock.advance(timedelta(seconds=1))
    pair = await sign_in(world)
    assert (await world.identify.execute(pair.access_token)).role is Role.ATTENDEE


class PausingHasher(BcryptHasher):
    """A real hasher whose next password check waits for `resume`, so a test can run
    another request while a sign-in is between reading the account and opening the
    session."""

    def __init__(self) -> None:
        super().__init__(b"p" * 32, rounds=4)
        self.pause_next = False
        self.checking = asyncio.Event()
        self.resume = asyncio.Event()

    async def verify(self, password: str, password_hash: str | None) -> bool:
        if self.pause_next:
            self.pause_next = False
            self.checking.set()
            await self.resume.wait()
        return await super().verify(password, password_hash)


async def sign_in_racing(
    world: World, email: str, change: Callable[[], Coroutine[Any, Any, object]]
) -> None:
    """Sign in with PASSWORD and run `change` while the password is being checked.
    (Were the check made under a lock, `change` would just wait its turn.)"""
    hasher = world.hasher
    assert isinstance(hasher, PausingHasher)
    hasher.pause_next = True
    attempt = asyncio.create_task(sign_in(world, email))
    await hasher.checking.wait()
    changing = asyncio.create_task(change())
    await asyncio.wait({changing}, timeout=1)
    hasher.resume.set()
    with contextlib.suppress(InvalidCredentials):
        await attempt
    await changing


async def test_a_password_change_during_a_sign_in_leaves_no_old_password_session() -> None:
    world = World(hasher=PausingHasher())
    user = await person(world)
    email = await email_of(world, user)
    me = await world.identify.execute((await sign_in(world, email)).access_token)

    await sign_in_racing(
        world,
        email,
        lambda: world.update_own_profile.execute(
            UpdateOwnProfileCommand(actor=me, password=NEW_PASSWORD, current_password=PASSWORD)
        ),
    )

    # Changing the password ends every other session: one opened with the old
    # password a moment later must not survive either.
    live = [
        s
        for s in world.store.state.sessions.values()
        if s.id != me.session_id and s.is_usable(world.clock.now())
    ]
    assert live == []


async def test_a_deactivation_during_a_sign_in_leaves_no_session() -> None:
    world = World(hasher=PausingHasher())
    admin = await person(world, Role.ADMIN)
    user = await person(world)

    await sign_in_racing(
        world,
        await email_of(world, user),
        lambda: world.update_user.execute(
            UpdateUserCommand(actor=admin, user_id=user.user_id, is_active=False)
        ),
    )

    # Deactivation ends every session; none may appear after it, or reactivating the
    # account later would bring it back to life.
    live = [
        s
        for s in world.store.state.sessions.values()
        if s.user_id == user.user_id and s.is_usable(world.clock.now())
    ]
    assert live == []


# -- RefreshSession -----------------------------------------------------------------------


async def test_refresh_rotates_the_token_within_the_same_session(world: World) -> None:
    await sign_up(world)
    first = await sign_in(world)
    world.clock.advance(timedelta(minutes=5))

    second = await world.refresh.execute(RefreshCommand(refresh_token=first.refresh_token))

    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    (session,) = world.store.state.sessions.values()
    assert session.current_token_digest == world.tokens.digest(second.refresh_token)
    assert world.tokens.digest(first.refresh_token) in session.spent_digests
    caller = await world.identify.execute(second.access_token)
    assert caller.session_id == session.id
    third = await world.refresh.execute(RefreshCommand(refresh_token=second.refresh_token))
    assert (await world.identify.execute(third.access_token)).session_id == session.id


async def test_reusing_a_spent_refresh_token_revokes_the_whole_session(world: World) -> None:
    await sign_up(world)
    first = await sign_in(world)
    other_session = await sign_in(world)
    second = await world.refresh.execute(RefreshCommand(refresh_token=first.refresh_token))
    world.clock.advance(timedelta(minutes=1))

    with pytest.raises(InvalidCredentials):
        await world.refresh.execute(RefreshCommand(refresh_token=first.refresh_token))

    session_id = (await world.identify.execute(other_session.access_token)).session_id
    revoked = [s for s in world.store.state.sessions.values() if s.id != session_id]
    assert [s.revoked_at for s in revoked] == [world.clock.now()]
    # The thief's (or the user's) newest token is dead too ...
    with pytest.raises(InvalidCredentials):
        await world.refresh.execute(RefreshCommand(refresh_token=second.refresh_token))
    # ... and so is every access token of the session, at once.
    for access_token in (first.access_token, second.access_token):
        with pytest.raises(NotAuthenticated):
            await world.identify.execute(access_token)
    # The user's other sign-in is untouched.
    await world.refresh.execute(RefreshCommand(refresh_token=other_session.refresh_token))


@pytest.mark.parametrize("token", ["", "rt-garbage", "at-not-a-refresh-token"])
async def test_refresh_with_an_unknown_token_fails_and_changes_nothing(
    world: World, token: str
) -> None:
    await sign_up(world)
    await sign_in(world)
    before = snapshot(world)

    with pytest.raises(InvalidCredentials):
        await world.refresh.execute(RefreshCommand(refresh_token=token))

    assert world.store.state == before


async def test_refresh_fails_once_the_session_has_expired(world: World) -> None:
    await sign_up(world)
    pair = await sign_in(world)
    world.clock.advance(timedelta(days=30))

    with pytest.raises(InvalidCredentials):
        await world.refresh.execute(RefreshCommand(refresh_token=pair.refresh_token))


async def test_a_deactivated_user_cannot_refresh(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    await sign_up(world)
    pair = await sign_in(world)
    caller = await world.identify.execute(pair.access_token)

    await world.update_user.execute(
        UpdateUserCommand(actor=admin, user_id=caller.user_id, is_active=False)
    )

    with pytest.raises(InvalidCredentials):
        await world.refresh.execute(RefreshCommand(refresh_token=pair.refresh_token))


async def test_refresh_carries_the_current_role(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    await sign_up(world)
    pair = await sign_in(world)
    caller = await world.identify.execute(pair.access_token)
    await world.update_user.execute(
        UpdateUserCommand(actor=admin, user_id=caller.user_id, role=Role.ORGANIZER)
    )

    refreshed = await world.refresh.execute(RefreshCommand(refresh_token=pair.refresh_token))

    assert world.tokens.read_access(refreshed.access_token, world.clock.now()).role is (
        Role.ORGANIZER
    )


# -- RevokeToken --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["refresh", "access"])
async def test_revoking_either_token_ends_the_session(world: World, kind: str) -> None:
    await sign_up(world)
    pair = await sign_in(world)
    kept = await sign_in(world)
    caller = await world.identify.execute(pair.access_token)
    world.clock.advance(timedelta(seconds=30))

    token = pair.refresh_token if kind == "refresh" else pair.access_token
    await world.revoke.execute(RevokeCommand(actor=caller, token=token))

    assert caller.session_id is not None
    assert world.store.state.sessions[caller.session_id].revoked_at == world.clock.now()
    with pytest.raises(NotAuthenticated):
        await world.identify.execute(pair.access_token)
    with pytest.raises(InvalidCredentials):
        await world.refresh.execute(RefreshCommand(refresh_token=pair.refresh_token))
    # Logging out of one device leaves the others signed in.
    assert (await world.identify.execute(kept.access_token)).user_id == caller.user_id


async def test_revoking_a_spent_refresh_token_ends_its_session(world: World) -> None:
    await sign_up(world)
    first = await sign_in(world)
    second = await world.refresh.execute(RefreshCommand(refresh_token=first.refresh_token))
    caller = await world.identify.execute(second.access_token)

    await world.revoke.execute(RevokeCommand(actor=caller, token=first.refresh_token))

    with pytest.raises(NotAuthenticated):
        await world.identify.execute(second.access_token)


async def test_revoking_someone_elses_token_does_nothing(world: World) -> None:
    await sign_up(world, "ada@example.org")
    await sign_up(world, "bob@example.org")
    ada = await sign_in(world, "ada@example.org")
    bob = await sign_in(world, "bob@example.org")
    bob_caller = await world.identify.execute(bob.access_token)
    before = snapshot(world)

    for token in (ada.refresh_token, ada.access_token):
        await world.revoke.execute(RevokeCommand(actor=bob_caller, token=token))

    assert world.store.state == before
    assert (await world.identify.execute(ada.access_token)).role is Role.ATTENDEE


@pytest.mark.parametrize("token", ["", "garbage", "rt-unknown", "at-unknown"])
async def test_revoking_garbage_does_nothing(world: World, token: str) -> None:
    await sign_up(world)
    pair = await sign_in(world)
    caller = await world.identify.execute(pair.access_token)
    before = snapshot(world)

    await world.revoke.execute(RevokeCommand(actor=caller, token=token))

    assert world.store.state == before


async def test_revoking_twice_keeps_the_first_revocation_time(world: World) -> None:
    await sign_up(world)
    pair = await sign_in(world)
    caller = await world.identify.execute(pair.access_token)
    revoked_at = world.clock.now()
    await world.revoke.execute(RevokeCommand(actor=caller, token=pair.refresh_token))
    world.clock.advance(timedelta(minutes=1))

    await world.revoke.execute(RevokeCommand(actor=caller, token=pair.refresh_token))

    (session,) = world.store.state.sessions.values()
    assert session.revoked_at == revoked_at


# -- IdentifyCaller -----------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "garbage", "rt-whatever"])
async def test_identify_refuses_tokens_it_did_not_issue(world: World, token: str) -> None:
    with pytest.raises(NotAuthenticated):
        await world.identify.execute(token)


async def test_identify_refuses_an_expired_access_token(world: World) -> None:
    await sign_up(world)
    pair = await sign_in(world)
    world.clock.advance(timedelta(seconds=pair.expires_in - 1))
    await world.identify.execute(pair.access_token)

    world.clock.advance(timedelta(seconds=1))

    with pytest.raises(NotAuthenticated):
        await world.identify.execute(pair.access_token)


async def test_a_demotion_takes_effect_on_the_next_request(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    organizer = await person(world, Role.ORGANIZER)
    pair = await sign_in(world, await email_of(world, organizer))
    assert (await world.identify.execute(pair.access_token)).role is Role.ORGANIZER

    await world.update_user.execute(
        UpdateUserCommand(actor=admin, user_id=organizer.user_id, role=Role.ATTENDEE)
    )

    assert (await world.identify.execute(pair.access_token)).role is Role.ATTENDEE


async def test_a_promotion_takes_effect_on_the_next_request(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    attendee = await person(world)
    pair = await sign_in(world, await email_of(world, attendee))

    await world.update_user.execute(
        UpdateUserCommand(actor=admin, user_id=attendee.user_id, role=Role.ADMIN)
    )

    assert (await world.identify.execute(pair.access_token)).is_admin


async def test_a_deactivation_takes_effect_on_the_next_request(world: World) -> None:
    admin = await person(world, Role.ADMIN)
    attendee = await person(world)
    pair = await sign_in(world, await email_of(world, attendee))

    await world.update_user.execute(
        UpdateUserCommand(actor=admin, user_id=attendee.user_id, is_active=False)
    )

    with pytest.raises(NotAuthenticated):
        await world.identify.execute(pair.access_token)
