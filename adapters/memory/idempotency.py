"""IdempotencyStore over a MemoryStore: the same rules as the SQL adapter, under
the store's lock."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime

from adapters.memory.state import IdempotencyRecord, MemoryStore
from application.ports.idempotency import (
    LEASE,
    RETENTION,
    Claimed,
    ClaimOutcome,
    IdempotencyStore,
    InFlight,
    Mismatch,
    Replay,
    StoredResponse,
)


class MemoryIdempotencyStore(IdempotencyStore):
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def claim(
        self, caller: str, key: str, fingerprint: str, *, now: datetime
    ) -> ClaimOutcome:
        async with self._store.lock:
            records = self._store.state.idempotency_keys
            found = records.get((caller, key))
            if found is None or found.created_at <= now - RETENTION:
                token = secrets.token_hex(16)
                records[(caller, key)] = IdempotencyRecord(
                    fingerprint=fingerprint, token=token, created_at=now, locked_until=now + LEASE
                )
                return Claimed(token)
            if found.fingerprint != fingerprint:
                return Mismatch()
            if found.response is not None:
                return Replay(found.response)
            if found.locked_until > now:
                return InFlight()
            token = secrets.token_hex(16)
            records[(caller, key)] = replace(found, token=token, locked_until=now + LEASE)
            return Claimed(token)

    async def complete(self, caller: str, key: str, token: str, response: StoredResponse) -> bool:
        async with self._store.lock:
            records = self._store.state.idempotency_keys
            found = records.get((caller, key))
            if found is None or found.token != token or found.response is not None:
                return False
            records[(caller, key)] = replace(found, response=response)
            return True

    async def release(self, caller: str, key: str, token: str) -> bool:
        async with self._store.lock:
            records = self._store.state.idempotency_keys
            found = records.get((caller, key))
            if found is None or found.token != token or found.response is not None:
                return False
            del records[(caller, key)]
            return True

    async def forget_caller(self, caller: str) -> int:
        async with self._store.lock:
            records = self._store.state.idempotency_keys
            doomed = [name for name in records if name[0] == caller]
            for name in doomed:
                del records[name]
            return len(doomed)
