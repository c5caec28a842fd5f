"""Purging over a MemoryStore (idempotency keys included) and the delivery state a
MemoryOutboxQueue keeps."""

from __future__ import annotations

from datetime import datetime

from adapters.memory.delivery import MemoryOutboxQueue
from adapters.memory.state import MemoryStore
from application.ports.housekeeping import ExpiredRecords


class MemoryExpiredRecords(ExpiredRecords):
    def __init__(self, store: MemoryStore, queue: MemoryOutboxQueue) -> None:
        self._store = store
        self._queue = queue

    async def purge_sent_notifications(self, *, sent_before: datetime, limit: int) -> int:
        return await self._queue.purge_sent(sent_before=sent_before, limit=limit)

    async def purge_expired_sessions(self, *, expired_before: datetime, limit: int) -> int:
        async with self._store.lock:
            current = self._store.state.sessions
            expired = sorted(
                (s for s in current.values() if s.expires_at < expired_before),
                key=lambda s: s.expires_at,
            )[:limit]
            gone = {session.id for session in expired}
            self._store.state.sessions = {k: v for k, v in current.items() if k not in gone}
            return len(gone)

    async def purge_expired_account_tokens(self, *, expired_before: datetime, limit: int) -> int:
        async with self._store.lock:
            current = self._store.state.account_tokens
            expired = sorted(
                (t for t in current.values() if t.expires_at < expired_before),
                key=lambda t: t.expires_at,
            )[:limit]
            gone = {token.digest for token in expired}
            self._store.state.account_tokens = {k: v for k, v in current.items() if k not in gone}
            return len(gone)

    async def purge_webhook_attempts(self, *, before: datetime, limit: int) -> int:
        async with self._store.lock:
            current = self._store.state.webhook_attempts
            old = sorted((a for a in current if a.at < before), key=lambda a: a.at)[:limit]
            gone = {attempt.id for attempt in old}
            self._store.state.webhook_attempts = [a for a in current if a.id not in gone]
            return len(gone)

    async def purge_idempotency_keys(self, *, created_before: datetime, limit: int) -> int:
        async with self._store.lock:
            current = self._store.state.idempotency_keys
            old = sorted(
                (item for item in current.items() if item[1].created_at < created_before),
                key=lambda item: item[1].created_at,
            )[:limit]
            for name, _ in old:
                del current[name]
            return len(old)
