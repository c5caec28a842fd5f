"""Which events wait for coordinates, for the geocoding worker (SQL).

Both statements are short and hold no lock across the geocoder's call: the
worker reads the waiting events, asks the third party with no transaction
open, then records the attempt with a compare-and-set on the address.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import WRITE_LOCK, is_sqlite
from adapters.sql.reading import read_only
from adapters.sql.tables import AWAITING_LOCATION, events
from application.ports.geocoder import AddressToLocate, EventLocations
from domain.values import Location

_PLACE = (events.c.id, events.c.venue, events.c.address, events.c.city, events.c.country)


class SqlEventLocations(EventLocations):
    def __init__(self, engine: AsyncEngine) -> None:
        self._reader = read_only(engine)
        self._writer = (
            engine.execution_options(**{WRITE_LOCK: True}) if is_sqlite(engine) else engine
        )

    async def awaiting(self, *, limit: int, now: datetime) -> list[AddressToLocate]:
        """Never-tried addresses first (in event id order, i.e. creation order),
        then failed tries that are due again."""
        fresh = select(*_PLACE).where(AWAITING_LOCATION).order_by(events.c.id).limit(limit)
        async with self._reader.connect() as connection:
            rows = list((await connection.execute(fresh)).mappings())
            if len(rows) < limit:
                due = _due_again(now).limit(limit - len(rows))
                rows += list((await connection.execute(due)).mappings())
        return [
            AddressToLocate(
                event_id=row["id"],
                location=Location(
                    venue=row["venue"],
                    address=row["address"],
                    city=row["city"],
                    country=row["country"],
                ),
            )
            for row in rows
        ]

    async def record_attempt(
        self, address: AddressToLocate, *, now: datetime, retry_at: datetime | None
    ) -> bool:
        place = address.location
        statement = (
            update(events)
            .where(
                events.c.id == address.event_id,
                events.c.address == place.address,
                events.c.city == place.city,
                events.c.country == place.country,
            )
            .values(geocode_attempted_at=now, geocode_retry_at=retry_at)
        )
        async with self._writer.begin() as connection:
            result = await connection.execute(statement)
        return int(result.rowcount) == 1


def _due_again(now: datetime) -> Select[Any]:
    return (
        select(*_PLACE)
        .where(
            events.c.geocode_retry_at.is_not(None),
            events.c.geocode_retry_at <= now,
            events.c.latitude.is_(None),
            events.c.status != "cancelled",
        )
        .order_by(events.c.geocode_retry_at)
    )
