"""The bench's databases: seeded once (events, accounts), reset for every run.

Seeding reuses the scale check's COPY loader (adapters/sql/scale_check.py). A
database that already holds what a run asks for (its comment names the seed) is
kept; `--reseed` drops and fills it again. What a run changes (registrations,
the outbox, sessions, the events it joins) is reset at the start of every run.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import text

from adapters.sql import scale_check
from adapters.sql.engine import create_database_engine, fold
from adapters.sql.migrate import head_revision, upgrade_database
from adapters.sql.tables import events, sessions, users
from bench.machine import database_url
from entrypoints.container import build_container
from entrypoints.settings import Settings

SEED_VERSION = 1
PASSWORD = "bench-password-2030!"
ORGANIZER_EMAIL = "bench-organizer@bench.example"
#: The events runs join start here, after every seeded one (the seed spans 2030-2032),
#: so they never appear on the pages being measured.
JOIN_EVENTS_START = datetime(2040, 1, 1, tzinfo=UTC)


def attendee_email(n: int) -> str:
    return f"attendee{n}@bench.example"


@dataclass(frozen=True)
class Seed:
    """What a database holds once seeded."""

    name: str
    events: int
    attendees: int

    def marker(self, settings: Settings) -> str:
        rounds, kid = settings.security.bcrypt_rounds, settings.security.token_kid
        return (
            f"eventapi-bench seed v{SEED_VERSION}: events={self.events} "
            f"attendees={self.attendees} bcrypt={rounds} key={kid} schema={head_revision()}"
        )

    @property
    def url(self) -> str:
        return database_url(self.name)

    @property
    def sqlalchemy_url(self) -> str:
        return self.url.replace("postgresql://", "postgresql+asyncpg://")


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(database_url("postgres"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _marker(seed: Seed) -> str | None:
    connection = await asyncpg.connect(database_url("postgres"))
    try:
        exists = await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", seed.name
        )
        if not exists:
            return None
        comment: str | None = await connection.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            seed.name,
        )
        return comment or ""
    finally:
        await connection.close()


async def prepare(seed: Seed, settings: Settings, *, reseed: bool) -> None:
    """The database seeded as `seed` says (kept if it already is), schema current."""
    marker = await _marker(seed)
    wanted = seed.marker(settings)
    if marker == wanted and not reseed:
        print(f"{seed.name}: already seeded ({wanted})", flush=True)
        await upgrade_database(seed.sqlalchemy_url)
        return
    if marker is not None:
        await _admin(f'DROP DATABASE "{seed.name}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{seed.name}"')
    await upgrade_database(seed.sqlalchemy_url)
    print(f"{seed.name}: seeding {seed.events:,} events, {seed.attendees:,} attendees", flush=True)
    engine = create_database_engine(seed.sqlalchemy_url)
    try:
        await scale_check.seed(engine, seed.events, batch=50_000)
        if seed.attendees:
            await _seed_accounts(engine, seed.attendees, settings)
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()
    await _admin(f"COMMENT ON DATABASE \"{seed.name}\" IS '{wanted}'")


async def _seed_accounts(engine: Any, attendees: int, settings: Settings) -> None:
    """Attendees sharing one password (hashed as eventapi hashes it), and the organizer
    of the events the runs join."""
    container = build_container(settings)
    password_hash = await container.hasher().hash(PASSWORD)
    now = datetime.now(UTC)

    def account(email: str, name: str, role: str) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "email": email,
            "full_name": name,
            "role": role,
            "password_hash": password_hash,
            "is_active": True,
            "created_at": now,
            "updated_at": now,
        }

    rows = [account(ORGANIZER_EMAIL, "Bench Organizer", "organizer")]
    rows += [account(attendee_email(n), f"Attendee {n}", "attendee") for n in range(attendees)]
    await scale_check.copy_rows(engine, users, rows)


@dataclass
class Fixtures:
    """What the scenarios of one run use, fresh for that run."""

    attendees: list[tuple[uuid.UUID, str]]  # (user id, e-mail)
    sessions: list[tuple[uuid.UUID, uuid.UUID]]  # (session id, user id)
    spread_events: list[uuid.UUID]
    hot_events: list[uuid.UUID]
    hot_capacity: int
    published: list[uuid.UUID]


async def reset_and_prepare(
    seed: Seed, *, spread_events: int, hot_events: int, hot_capacity: int
) -> Fixtures:
    """Undo what earlier runs wrote, then add this run's events to join and a session
    per attendee."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    engine = create_database_engine(seed.sqlalchemy_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("TRUNCATE outbox, refresh_tokens, sessions, registrations")
            )
            organizer = await connection.scalar(
                users.select().with_only_columns(users.c.id).where(users.c.email == ORGANIZER_EMAIL)
            )
            if organizer is None:
                raise RuntimeError(f"{seed.name} has no bench organizer: run with --reseed")
            await connection.execute(events.delete().where(events.c.organizer_id == organizer))
            attendees = [
                (row.id, row.email)
                for row in await connection.execute(
                    users.select()
                    .with_only_columns(users.c.id, users.c.email)
                    .where(users.c.role == "attendee")
                    .order_by(users.c.email)
                )
            ]
            published = list(
                (
                    await connection.execute(
                        text(
                            "SELECT id FROM events WHERE status = 'published' "
                            "ORDER BY md5(id::text) LIMIT 500"
                        )
                    )
                ).scalars()
            )

        def join_event(n: int, capacity: int) -> dict[str, Any]:
            values = scale_check.event_values(rng, organizer, now)
            starts_at = JOIN_EVENTS_START + timedelta(hours=n)
            return values | {
                "title": f"Bench join {n}",
                "city": "Benchville",
                "city_key": fold("Benchville"),
                "latitude": None,
                "longitude": None,
                "starts_at": starts_at,
                "ends_at": starts_at + timedelta(hours=2),
                "capacity": capacity,
                "waitlist_enabled": False,
                "status": "published",
                "attendee_count": 0,
            }

        spread = [join_event(n, 100_000) for n in range(spread_events)]
        hot = [join_event(spread_events + n, hot_capacity) for n in range(hot_events)]
        await scale_check.copy_rows(engine, events, spread + hot)
        session_rows = [
            {
                "id": uuid.uuid4(),
                "user_id": user_id,
                "current_token_digest": uuid.uuid4().hex + uuid.uuid4().hex,
                "created_at": now,
                "expires_at": now + timedelta(days=1),
            }
            for user_id, _ in attendees
        ]
        await scale_check.copy_rows(engine, sessions, session_rows)
    finally:
        await engine.dispose()
    return Fixtures(
        attendees=attendees,
        sessions=[(row["id"], row["user_id"]) for row in session_rows],
        spread_events=[row["id"] for row in spread],
        hot_events=[row["id"] for row in hot],
        hot_capacity=hot_capacity,
        published=published,
    )


async def deep_keysets(seed: Seed, count: int) -> tuple[list[tuple[datetime, uuid.UUID]], int]:
    """`count` keysets 85-95 % of the way through the published listing, and how
    many events that listing has."""
    connection = await asyncpg.connect(seed.url)
    try:
        total = await connection.fetchval("SELECT count(*) FROM events WHERE status = 'published'")
        low, high = int(total * 0.85), int(total * 0.95)
        step = max((high - low) // count, 1)
        rows = await connection.fetch(
            "SELECT starts_at, id FROM (SELECT starts_at, id, row_number() OVER "
            "(ORDER BY starts_at, id) AS n FROM events WHERE status = 'published') AS listing "
            "WHERE n > $1 AND n <= $2 AND (n - $1) % $3 = 0",
            low,
            high,
            step,
        )
        return [(row["starts_at"], row["id"]) for row in rows][:count], int(total)
    finally:
        await connection.close()


async def _connect(url: str) -> asyncpg.Connection:
    """A connection, waiting a little while the server is at max_connections (the
    servers under test may hold most of them just after a run)."""
    for _ in range(50):
        try:
            return await asyncpg.connect(url)
        except asyncpg.TooManyConnectionsError:
            await asyncio.sleep(0.2)
    return await asyncpg.connect(url)


async def oversold(seed: Seed, event_id: uuid.UUID) -> tuple[int, int, int]:
    """(confirmed registrations, the event's attendee count, capacity) of one event."""
    connection = await _connect(seed.url)
    try:
        row = await connection.fetchrow(
            "SELECT (SELECT count(*) FROM registrations r WHERE r.event_id = e.id "
            "AND r.status = 'confirmed') AS confirmed, attendee_count, capacity "
            "FROM events e WHERE id = $1",
            event_id,
        )
        assert row is not None
        return int(row["confirmed"]), int(row["attendee_count"]), int(row["capacity"])
    finally:
        await connection.close()
