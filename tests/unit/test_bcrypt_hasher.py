"""The bcrypt hasher: long passwords count in full, and peppers can be rotated."""

from __future__ import annotations

from adapters.bcrypt_hasher import BcryptHasher
from application.password_checks import PasswordChecks
from application.use_cases.sign_in import SignInCommand, SignInWithPassword
from domain.users import Role
from tests.unit.world import PASSWORD, World

OLD, NEW = b"o" * 32, b"n" * 32


async def test_every_character_of_a_long_password_counts() -> None:
    hasher = BcryptHasher(NEW, rounds=4)
    long = "ä" * 40 + "tail-one"  # 88 bytes of UTF-8, past bcrypt's 72
    stored = await hasher.hash(long)
    assert await hasher.verify(long, stored)
    assert not await hasher.verify("ä" * 40 + "tail-two", stored)


async def test_unknown_accounts_and_foreign_hashes_never_verify() -> None:
    hasher = BcryptHasher(NEW, rounds=4)
    assert not await hasher.verify("anything at all", None)
    assert not await hasher.verify("anything at all", "not a hash")
    stranger = await BcryptHasher(b"s" * 32, rounds=4).hash("anything at all")
    assert not await hasher.verify("anything at all", stranger)


async def test_hashes_made_with_a_previous_pepper_verify_and_ask_to_be_renewed() -> None:
    before = await BcryptHasher(OLD, rounds=4).hash(PASSWORD)
    rotated = BcryptHasher(NEW, rounds=4, previous_peppers=[OLD])
    assert await rotated.verify(PASSWORD, before)
    assert rotated.needs_rehash(before)
    after = await rotated.hash(PASSWORD)
    assert not rotated.needs_rehash(after)
    assert BcryptHasher(NEW, rounds=5).needs_rehash(after)  # a new cost also renews


async def test_sign_in_stores_a_fresh_hash_after_a_key_rotation(world: World) -> None:
    actor = await world.user(Role.ATTENDEE)
    user = world.store.state.users[actor.user_id]
    old_hash = user.password_hash
    rotated = BcryptHasher(b"r" * 32, rounds=4, previous_peppers=[b"p" * 32])
    checks = PasswordChecks(rotated, world.limiter)
    sign_in = SignInWithPassword(world.uow, rotated, world.tokens, checks, world.clock, world.ids)

    await sign_in.execute(SignInCommand(email=str(user.email), password=PASSWORD))

    renewed = world.store.state.users[actor.user_id].password_hash
    assert renewed != old_hash
    assert not rotated.needs_rehash(renewed)
    assert await rotated.verify(PASSWORD, renewed)
