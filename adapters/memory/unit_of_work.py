"""Unit of work over a MemoryStore: work on copies, swap them in on commit."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from adapters.memory.repositories import (
    MemoryEventRepository,
    MemoryOutbox,
    MemoryRegistrationRepository,
    MemorySessionRepository,
    MemoryUserRepository,
)
from adapters.memory.state import MemoryState, MemoryStore
from application.ports.unit_of_work import UnitOfWork


class MemoryUnitOfWork(UnitOfWork):
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._working = MemoryState()
        self.users = MemoryUserRepository(self._working)
        self.events = MemoryEventRepository(self._working)
        self.registrations = MemoryRegistrationRepository(self._working)
        self.sessions = MemorySessionRepository(self._working)
        self.outbox = MemoryOutbox(self._working)

    async def __aenter__(self) -> Self:
        await self._store.lock.acquire()
        self._working.load(self._store.state)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._store.lock.release()

    async def commit(self) -> None:
        committed = MemoryState()
        committed.load(self._working)
        self._store.state = committed


class MemoryUnitOfWorkFactory:
    """A `UnitOfWorkFactory`: each call opens a new unit of work on the store."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def __call__(self, *, read_only: bool = False) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self._store)  # one lock serves readers and writers alike
