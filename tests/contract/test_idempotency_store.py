"""IdempotencyStore behaves alike on memory, SQLite and PostgreSQL: one claim per
(caller, key), replay of the stored answer, mismatch on another fingerprint, in
flight while the lease lives and taken over after, per-caller scoping, purge."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.delivery import MemoryOutboxQueue
from adapters.memory.housekeeping import MemoryExpiredRecords
from adapters.memory.idempotency import MemoryIdempotencyStore
from adapters.memory.state import MemoryStore
from adapters.sql.housekeeping import SqlExpiredRecords
from adapters.sql.idempotency import SqlIdempotencyStore
from application.ports.housekeeping import ExpiredRecords
from application.ports.idempotency import (
    LEASE,
    RETENTION,
    Claimed,
    IdempotencyStore,
    InFlight,
    Mismatch,
    Replay,
    StoredResponse,
)
from tests.builders import NOW

ALICE = "user:0190b5e4-0000-7000-8000-000000000001"
BOB = "user:0190b5e4-0000-7000-8000-000000000002"
CREATED = StoredResponse(
    status=201,
    headers=(("content-type", "application/json"), ("location", "/api/v1/events/1")),
    body=b'{"id":"1","title":"caf\xc3\xa9"}',
)


@dataclass(frozen=True)
class Stores:
    keys: IdempotencyStore
    records: ExpiredRecords


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stores(request: pytest.FixtureRequest) -> Stores:
    if request.param == "memory":
        memory = MemoryStore()
        return Stores(
            MemoryIdempotencyStore(memory),
            MemoryExpiredRecords(memory, MemoryOutboxQueue(memory)),
        )
    engine: AsyncEngine = request.getfixturevalue(f"{request.param}_engine")
    return Stores(SqlIdempotencyStore(engine), SqlExpiredRecords(engine))


async def claimed(store: IdempotencyStore, caller: str, key: str, fingerprint: str) -> str:
    outcome = await store.claim(caller, key, fingerprint, now=NOW)
    assert isinstance(outcome, Claimed)
    return outcome.token


async def test_the_stored_answer_is_replayed_byte_for_byte(stores: Stores) -> None:
    token = await claimed(stores.keys, ALICE, "k1", "f1")
    assert await stores.keys.complete(ALICE, "k1", token, CREATED)
    later = NOW + RETENTION - timedelta(seconds=1)
    assert await stores.keys.claim(ALICE, "k1", "f1", now=later) == Replay(CREATED)
    # Completing or releasing an answered key changes nothing.
    assert not await stores.keys.complete(ALICE, "k1", token, CREATED)
    assert not await stores.keys.release(ALICE, "k1", token)
    assert await stores.keys.claim(ALICE, "k1", "f1", now=NOW) == Replay(CREATED)


async def test_another_request_with_the_same_key_is_a_mismatch(stores: Stores) -> None:
    token = await claimed(stores.keys, ALICE, "k1", "f1")
    assert await stores.keys.claim(ALICE, "k1", "f2", now=NOW) == Mismatch()  # in flight
    await stores.keys.complete(ALICE, "k1", token, CREATED)
    assert await stores.keys.claim(ALICE, "k1", "f2", now=NOW) == Mismatch()  # answered


async def test_a_running_claim_is_in_flight_until_its_lease_runs_out(stores: Stores) -> None:
    first = await claimed(stores.keys, ALICE, "k1", "f1")
    almost = NOW + LEASE - timedelta(seconds=1)
    assert await stores.keys.claim(ALICE, "k1", "f1", now=almost) == InFlight()
    taken = await stores.keys.claim(ALICE, "k1", "f1", now=NOW + LEASE)
    assert isinstance(taken, Claimed)
    assert taken.token != first
    # The first owner lost the key: its late answer is not stored, nor can it release.
    assert not await stores.keys.complete(ALICE, "k1", first, CREATED)
    assert not await stores.keys.release(ALICE, "k1", first)
    assert await stores.keys.claim(ALICE, "k1", "f1", now=NOW + LEASE) == InFlight()
    assert await stores.keys.complete(ALICE, "k1", taken.token, CREATED)
    assert await stores.keys.claim(ALICE, "k1", "f1", now=NOW + LEASE) == Replay(CREATED)


async def test_a_released_key_can_be_claimed_again(stores: Stores) -> None:
    token = await claimed(stores.keys, ALICE, "k1", "f1")
    assert await stores.keys.release(ALICE, "k1", token)
    assert not await stores.keys.release(ALICE, "k1", token)
    again = await claimed(stores.keys, ALICE, "k1", "f2")  # any request may use it now
    assert again != token


async def test_keys_belong_to_their_caller(stores: Stores) -> None:
    alice = await claimed(stores.keys, ALICE, "shared", "f1")
    await stores.keys.complete(ALICE, "shared", alice, CREATED)
    # Bob's identical key is his own: a fresh claim, neither a replay nor a mismatch.
    bob = await claimed(stores.keys, BOB, "shared", "f9")
    assert await stores.keys.claim(BOB, "shared", "f9", now=NOW) == InFlight()
    assert not await stores.keys.complete(BOB, "shared", alice, CREATED)
    assert await stores.keys.release(BOB, "shared", bob)
    assert await stores.keys.claim(ALICE, "shared", "f1", now=NOW) == Replay(CREATED)
    # Keys differ by case and by every character.
    await claimed(stores.keys, ALICE, "Shared", "f1")
    await claimed(stores.keys, "address:127.0.0.1", "shared", "f1")


async def test_a_key_older_than_the_retention_is_forgotten(stores: Stores) -> None:
    token = await claimed(stores.keys, ALICE, "k1", "f1")
    await stores.keys.complete(ALICE, "k1", token, CREATED)
    later = NOW + RETENTION
    fresh = await stores.keys.claim(ALICE, "k1", "f2", now=later)  # not purged yet
    assert isinstance(fresh, Claimed)
    assert await stores.keys.claim(ALICE, "k1", "f2", now=later) == InFlight()


async def test_concurrent_claims_of_one_key_have_one_winner(stores: Stores) -> None:
    outcomes = await asyncio.gather(
        *(stores.keys.claim(ALICE, "race", "f1", now=NOW) for _ in range(8))
    )
    assert sum(isinstance(o, Claimed) for o in outcomes) == 1
    assert all(isinstance(o, Claimed | InFlight) for o in outcomes)


async def test_the_purge_deletes_keys_past_their_day_in_batches(stores: Stores) -> None:
    for i in range(5):
        token = await stores.keys.claim(ALICE, f"old{i}", "f", now=NOW + timedelta(seconds=i))
        assert isinstance(token, Claimed)
        if i % 2:
            await stores.keys.complete(ALICE, f"old{i}", token.token, CREATED)
    recent = await claimed(stores.keys, BOB, "recent", "f")
    await stores.keys.complete(BOB, "recent", recent, CREATED)
    cutoff = NOW + timedelta(seconds=5)
    recent_at = NOW + timedelta(seconds=5)
    fresh = await stores.keys.claim(BOB, "fresh", "f", now=recent_at)
    assert isinstance(fresh, Claimed)

    assert await stores.records.purge_idempotency_keys(created_before=cutoff, limit=4) == 4
    assert await stores.records.purge_idempotency_keys(created_before=cutoff, limit=4) == 2
    assert await stores.records.purge_idempotency_keys(created_before=cutoff, limit=4) == 0
    # Gone keys are free again; the one used at the cutoff is kept.
    assert isinstance(await stores.keys.claim(ALICE, "old1", "other", now=cutoff), Claimed)
    assert await stores.keys.claim(BOB, "fresh", "f", now=recent_at) == InFlight()


async def test_forgetting_a_caller_deletes_its_records_in_every_state_and_no_one_elses(
    stores: Stores,
) -> None:
    store = stores.keys
    done = await claimed(store, ALICE, "done", "f")
    assert await store.complete(ALICE, "done", done, CREATED)
    await claimed(store, ALICE, "running", "f")
    bobs = await claimed(store, BOB, "done", "f")
    assert await store.complete(BOB, "done", bobs, CREATED)

    assert await store.forget_caller(ALICE) == 2

    assert isinstance(await store.claim(ALICE, "done", "f", now=NOW), Claimed)  # forgotten
    assert isinstance(await store.claim(ALICE, "running", "f", now=NOW), Claimed)
    assert isinstance(await store.claim(BOB, "done", "f", now=NOW), Replay)
    assert await store.forget_caller(ALICE) == 2  # the two fresh claims, nothing else
