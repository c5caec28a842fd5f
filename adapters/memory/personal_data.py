"""One person's data for their export, over a MemoryStore, in batches like SQL's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from adapters.memory.delivery import MemoryOutboxQueue
from adapters.memory.queries import MemoryEventQueries, MemoryRegistrationQueries
from adapters.memory.state import MemoryStore
from application.ports.personal_data import (
    EXPORT_BATCH_SIZE,
    NotificationRecord,
    NotificationState,
    PersonalData,
)
from application.ports.queries import EventSummary, EventView, RegistrationView

T = TypeVar("T")
K = TypeVar("K", bound=tuple[float, UUID] | int)


class MemoryPersonalData(PersonalData):
    """The delivery state of the outbox rows is kept in the store itself
    (`MemoryState.outbox_rows`); `queue` is accepted for the callers that pass one."""

    def __init__(self, store: MemoryStore, queue: MemoryOutboxQueue | None = None) -> None:
        self._store = store
        self._queue = queue
        self._registrations = MemoryRegistrationQueries(store)
        self._events = MemoryEventQueries(store)

    async def registrations(
        self, user_id: UUID, *, batch_size: int = EXPORT_BATCH_SIZE
    ) -> AsyncIterator[list[RegistrationView]]:
        state = self._store.state
        mine = [
            r
            for r in state.registrations.values()
            if r.user_id == user_id and r.event_id in state.events
        ]
        async for batch in _batches(mine, lambda r: (r.created_at.timestamp(), r.id), batch_size):
            views = [await self._registrations.get(r.id) for r in batch]
            summaries = [await self._events.get(r.event_id) for r in batch]
            yield [
                _with_event(view, event)
                for view, event in zip(views, summaries, strict=True)
                if view is not None and event is not None
            ]

    async def organised_events(
        self, user_id: UUID, *, batch_size: int = EXPORT_BATCH_SIZE
    ) -> AsyncIterator[list[EventView]]:
        mine = [e for e in self._store.state.events.values() if e.organizer_id == user_id]
        async for batch in _batches(
            mine, lambda e: (e.window.starts_at.timestamp(), e.id), batch_size
        ):
            views = [await self._events.get(e.id) for e in batch]
            yield [view for view in views if view is not None]

    async def notifications(
        self, user_id: UUID, *, batch_size: int = EXPORT_BATCH_SIZE
    ) -> AsyncIterator[list[NotificationRecord]]:
        state = self._store.state
        rows = [
            (row_id, n)
            for row_id, n in enumerate(state.outbox, start=1)
            if n.recipient_id == user_id and self._state(row_id)[0] != "purged"
        ]
        async for batch in _batches(rows, lambda pair: pair[0], batch_size):
            records = []
            for row_id, n in batch:
                status, sent_at = self._state(row_id)
                event = state.events.get(n.event_id) if n.event_id else None
                records.append(
                    NotificationRecord(
                        kind=n.kind,
                        created_at=n.created_at,
                        status=NotificationState(status),
                        sent_at=sent_at,
                        event_id=n.event_id,
                        event_title=event.title if event else n.details.get("title"),
                        due_at=n.due_at,
                    )
                )
            yield records

    def _state(self, row_id: int) -> tuple[str, datetime | None]:
        return (self._queue or MemoryOutboxQueue(self._store)).delivery_state(row_id)


def _with_event(view: RegistrationView, event: EventView) -> RegistrationView:
    summary = EventSummary(
        id=event.id,
        title=event.title,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        timezone=event.timezone,
        status=event.status,
    )
    return replace(view, event=summary)


async def _batches(
    rows: Iterable[T], key: Callable[[T], K], batch_size: int
) -> AsyncIterator[list[T]]:
    ordered = sorted(rows, key=key)
    for start in range(0, len(ordered), batch_size):
        yield ordered[start : start + batch_size]
