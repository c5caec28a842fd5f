"""Storing many new events at once (demo data, imports) in one transaction.

The objects come from the Event aggregate, so they obey the domain rules
already; this only replaces a repository `add` per row (a round trip each)
with one multi-row INSERT per table, which makes 100,000 registrations a
matter of seconds. Rows map exactly as the repositories map them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import WRITE_LOCK, is_sqlite
from adapters.sql.mapping import event_values, registration_values
from adapters.sql.tables import events, registrations
from domain.event import Event
from domain.registration import Registration


class SqlBulkLoader:
    def __init__(self, engine: AsyncEngine) -> None:
        # On SQLite take the write lock up front, as a unit of work does (engine.py).
        self._engine = (
            engine.execution_options(**{WRITE_LOCK: True}) if is_sqlite(engine) else engine
        )

    async def add_events(
        self, new_events: Sequence[Event], new_registrations: Sequence[Registration]
    ) -> None:
        """New events and their registrations, all or nothing. Nothing is queued in
        the outbox: callers that want notifications use the use cases instead."""
        async with self._engine.begin() as connection:
            if new_events:
                await connection.execute(insert(events), [event_values(e) for e in new_events])
            if new_registrations:
                await connection.execute(
                    insert(registrations), [registration_values(r) for r in new_registrations]
                )
