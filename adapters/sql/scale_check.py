"""Seed many events into PostgreSQL and show how the listing queries are answered.

    python3 -m uv run python -m adapters.sql.scale_check \
        postgresql+asyncpg://postgres@127.0.0.1:5432/eventapi_scale --events 1000000

Migrates the database, bulk-loads organizers and events with COPY (skip with
--no-seed to re-run the plans), runs ANALYZE, then prints `EXPLAIN (ANALYZE,
BUFFERS)` of every main listing query as the adapter builds it, and a summary
of the index each one used and its execution time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.engine import create_database_engine
from adapters.sql.event_queries import SqlEventQueries
from adapters.sql.explain import Explain
from adapters.sql.migrate import upgrade_database
from adapters.sql.search_columns import search_columns
from adapters.sql.tables import events, users
from application.ports.queries import (
    EXACT_TOTAL_UP_TO,
    EventCriteria,
    EventOrder,
    Keyset,
    PageRequest,
)
from domain.event import EventStatus
from domain.values import Coordinates

START = datetime(2030, 1, 1, tzinfo=UTC)
WORDS = [
    "python",
    "rust",
    "data",
    "jazz",
    "yoga",
    "chess",
    "film",
    "poetry",
    "robotics",
    "garden",
    "climbing",
    "tea",
]
CITIES = [(f"City{n:03d}", 35 + (n % 30), -10 + (n // 30) * 4.0) for n in range(200)]


def copy_columns(table: Table, given: Iterable[str]) -> list[str]:
    """The columns of `table` that COPY rows give, in the table's order.

    Derived from the metadata rather than listed by hand, so a migration that adds
    a column with a default (or a nullable one) cannot break the seeding: COPY
    leaves it to the database. A new column that the rows must give, or a name
    the table does not have, fails here with its name.
    """
    names = set(given)
    unknown = names - set(table.columns.keys())
    required = [
        column.name
        for column in table.columns
        if column.name not in names
        and not column.nullable
        and column.server_default is None
        and column is not table.autoincrement_column
    ]
    if unknown or required:
        raise ValueError(
            f"COPY into {table.name}: unknown columns {sorted(unknown)}, "
            f"required columns without a value {required}"
        )
    return [column.name for column in table.columns if column.name in names]


def _progress(done: int, total: int, started: float) -> None:
    width = 40
    filled = width * done // total
    rate = done / max(time.monotonic() - started, 1e-9)
    bar = "#" * filled + "-" * (width - filled)
    sys.stderr.write(f"\r[{bar}] {done:>9,}/{total:,} events  {rate:,.0f}/s")
    if done == total:
        sys.stderr.write("\n")


def event_values(rng: random.Random, organizer: uuid.UUID, now: datetime) -> dict[str, Any]:
    """One random event row, column name to value (see `copy_columns`)."""
    city, lat, lng = rng.choice(CITIES)
    starts_at = START + timedelta(minutes=rng.randrange(0, 3 * 365 * 24 * 60))
    capacity = rng.randint(1, 500)
    status = rng.choices(["published", "draft", "cancelled"], weights=[90, 5, 5])[0]
    words = rng.sample(WORDS, 3)
    values = {
        "id": uuid.uuid4(),
        "organizer_id": organizer,
        "title": f"{words[0].title()} {words[1]} night",
        "description": f"<p>All about {words[1]} and {words[2]}.</p>",
        "venue": f"Hall {rng.randrange(50)}",
        "address": "Main street 1",
        "city": city,
        "country": "DE" if lng < 15 else "PL",
        "latitude": lat + rng.uniform(-0.2, 0.2),
        "longitude": lng + rng.uniform(-0.2, 0.2),
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(hours=rng.randint(1, 8)),
        "timezone": "Europe/Berlin",
        "capacity": capacity,
        "waitlist_enabled": rng.random() < 0.5,
        "status": status,
        "attendee_count": rng.randint(0, capacity),
        "waitlist_count": 0,
        "tickets_issued": 0,
        "sequence": 0,
        "cancel_reason": "",
        "revision": 1,
        "created_at": now,
        "updated_at": now,
        "geocode_attempted_at": None,  # geocoding bookkeeping (migration 0002)
        "geocode_retry_at": None,
    }
    values.update(_search_columns(values))
    return values


async def copy_rows(engine: AsyncEngine, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk-load rows (all with the same keys) with asyncpg's COPY, the fastest way in."""
    if not rows:
        return
    columns = copy_columns(table, rows[0])
    records = [tuple(row[name] for name in columns) for row in rows]
    async with engine.begin() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        await driver.copy_records_to_table(table.name, records=records, columns=columns)


def _search_columns(values: dict[str, Any]) -> dict[str, Any]:
    """The stored search forms the adapters write with every save (city_key,
    country_key, search_title, search_text), computed the same way."""
    fields = ("title", "description", "venue", "city", "country")
    return search_columns(**{name: values[name] for name in fields})


async def seed(engine: AsyncEngine, count: int, batch: int) -> list[uuid.UUID]:
    rng, now = random.Random(20301), datetime.now(UTC)  # noqa: S311 (repeatable test data)
    organizers = [uuid.uuid4() for _ in range(1000)]
    async with engine.begin() as connection:
        await connection.execute(
            users.insert(),
            [
                {
                    "id": organizer,
                    "email": f"organizer{n}@example.org",
                    "full_name": f"Organizer {n}",
                    "role": "organizer",
                    "password_hash": "-",
                    "is_active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for n, organizer in enumerate(organizers)
            ],
        )
    started, done = time.monotonic(), 0
    while done < count:
        size = min(batch, count - done)
        values = [event_values(rng, rng.choice(organizers), now) for _ in range(size)]
        await copy_rows(engine, events, values)
        done += size
        _progress(done, count, started)
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE"))
    return organizers


async def _deep_cursor(connection: AsyncConnection) -> Keyset:
    """A cursor about 90% of the way through the published listing."""
    published = events.c.status == EventStatus.PUBLISHED.value
    low, high = (
        await connection.execute(
            select(func.min(events.c.starts_at), func.max(events.c.starts_at)).where(published)
        )
    ).one()
    deep = low + (high - low) * 0.9
    row = (
        await connection.execute(
            select(events.c.starts_at, events.c.id)
            .where(published, events.c.starts_at >= deep)
            .order_by(events.c.starts_at, events.c.id)
            .limit(1)
        )
    ).one()
    return Keyset(row.starts_at, row.id)


async def explain_all(engine: AsyncEngine) -> list[tuple[str, str, float]]:
    queries = SqlEventQueries(engine)
    async with engine.connect() as connection:
        deep = await _deep_cursor(connection)
        organizer = await connection.scalar(select(events.c.organizer_id).limit(1))
    first, after = PageRequest(), PageRequest(after=deep)
    relevance = EventCriteria(text="robotics chess", order=EventOrder.RELEVANCE)
    second = PageRequest(after=(await queries.search(relevance, first)).next)
    assert isinstance(deep.sort_value, datetime)
    near = EventCriteria(near=Coordinates(45.0, 2.0), radius_km=25)
    nearest = replace(near, order=EventOrder.DISTANCE)
    wide = EventCriteria(near=Coordinates(45.0, 2.0), radius_km=300, order=EventOrder.DISTANCE)
    # A distance cursor a few pages in, as a client paging nearest-first holds it.
    # (A small seed has no second page there: a cursor 1.2 km out stands in.)
    page = await queries.search(nearest, PageRequest(limit=100))
    metres_after = page.next or Keyset(1200, uuid.uuid4())
    cases = [
        ("first page", EventCriteria(), first),
        ("deep cursor page", EventCriteria(), after),
        ("deep cursor, descending", EventCriteria(descending=True), after),
        ("text search", EventCriteria(text="robotics chess"), first),
        ("text, word prefix", EventCriteria(text="robot"), first),
        ("text, phrase", EventCriteria(text='"chess night"'), first),
        ("text, OR and exclusion", EventCriteria(text="robotics OR poetry -tea"), first),
        ("text, rare word", EventCriteria(text="hall 7 robotics"), first),
        ("relevance, first page", relevance, first),
        ("relevance, second page", relevance, second),
        (
            "relevance, rare words",
            EventCriteria(text='"hall 7" robotics', order=EventOrder.RELEVANCE),
            first,
        ),
        ("city", EventCriteria(city="city042"), first),
        ("city, word prefix", EventCriteria(city="City04"), first),
        ("country", EventCriteria(country="pl"), first),
        ("country by name", EventCriteria(country="Poland"), first),
        ("organizer", EventCriteria(organizer_id=organizer), first),
        ("date range", EventCriteria(starts_from=deep.sort_value), first),
        ("available seats", EventCriteria(available_only=True), first),
        ("drafts", EventCriteria(status=EventStatus.DRAFT), first),
        ("near 25 km", near, first),
        ("near 25 km, by distance", nearest, first),
        ("near 25 km, distance cursor", nearest, PageRequest(after=metres_after)),
        ("near 300 km, by distance", wide, first),
    ]
    statements = [(name, queries.search_statement(c, p)) for name, c, p in cases]
    # include=total: the count that runs (capped), and the planner's estimate above it.
    for name, criteria in (
        ("total, everything", EventCriteria()),
        ("total, near 25 km", near),
        ("total, text search", EventCriteria(text="robotics chess")),
    ):
        capped, _ = queries.count_statements(criteria, exact_up_to=EXACT_TOTAL_UP_TO)
        statements.append((name + " (capped)", capped))
    summary = []
    for name, statement in statements:
        async with engine.connect() as connection:
            lines = (await connection.execute(Explain(statement, analyze=True))).scalars().all()
        plan = "\n".join(lines)
        print(f"\n=== {name}\n{plan}")
        scans = r"(?:using|Index Scan on|Bitmap Index Scan on) (ix_events_\w+)"
        indexes = sorted(set(re.findall(scans, plan)))
        match = re.search(r"Execution Time: ([\d.]+) ms", plan)
        summary.append((name, ", ".join(indexes) or "NO INDEX", float(match[1]) if match else -1))
    return summary


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="postgresql+asyncpg:// URL of a database to fill")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--no-seed", action="store_true", help="only print the plans")
    args = parser.parse_args()
    await upgrade_database(args.url)
    engine = create_database_engine(args.url)
    try:
        if engine.dialect.name != "postgresql":
            parser.error("the scale check runs on PostgreSQL")
        if not args.no_seed:
            await seed(engine, args.events, args.batch)
        summary = await explain_all(engine)
    finally:
        await engine.dispose()
    print(f"\n{'query':<34} {'execution ms':>12}  index")
    for name, indexes, ms in summary:
        print(f"{name:<34} {ms:>12.3f}  {indexes}")


if __name__ == "__main__":
    asyncio.run(main())
