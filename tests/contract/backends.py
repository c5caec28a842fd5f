"""The storage backends every contract test runs against.

Each backend bundles one implementation of the storage ports; the contract
tests are written once against this bundle, so the in-memory fakes and the
SQL adapters are held to the same behaviour.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from adapters.memory.queries import MemoryEventQueries, MemoryRegistrationQueries, MemoryUserQueries
from adapters.memory.state import MemoryStore
from adapters.memory.unit_of_work import MemoryUnitOfWorkFactory
from application.ports.notifications import Notification
from application.ports.queries import EventQueries, RegistrationQueries, UserQueries
from application.ports.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class Backend:
    name: str
    uow: UnitOfWorkFactory
    events: EventQueries
    registrations: RegistrationQueries
    users: UserQueries
    #: Everything the outbox holds, oldest first (test-only read access).
    outbox: Callable[[], Awaitable[list[Notification]]]


def memory_backend() -> Backend:
    store = MemoryStore()

    async def outbox() -> list[Notification]:
        return list(store.state.outbox)

    return Backend(
        name="memory",
        uow=MemoryUnitOfWorkFactory(store),
        events=MemoryEventQueries(store),
        registrations=MemoryRegistrationQueries(store),
        users=MemoryUserQueries(store),
        outbox=outbox,
    )
