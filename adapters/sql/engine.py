"""The async engine, with the per-dialect settings the rest of the adapter relies on.

SQLite needs the most care: sqlite3's own transaction handling is switched off so
that SQLAlchemy emits BEGIN itself, and connections of a unit of work begin with
`BEGIN IMMEDIATE`. That takes the database's single write lock before the first
read, so a unit of work that reads an event and then updates it can neither lose
an update nor fail half-way with SQLITE_BUSY: concurrent writers queue on
`busy_timeout` instead. Read-only queries begin a plain deferred transaction and,
thanks to WAL, never wait for writers.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.sql.failures import TranslatingPool, discard_closed_connections, translate_failures
from domain.values import Coordinates

#: Execution option that makes a SQLite connection begin with BEGIN IMMEDIATE.
WRITE_LOCK = "eventapi_write_lock"

DEFAULT_BUSY_TIMEOUT_MS = 30_000
#: PostgreSQL ends a transaction left idle this long, and with it its row locks: a
#: process frozen mid-transaction (stopped, partitioned away) cannot hold an event's
#: lock, and so every join of that event, for longer. No unit of work idles in a
#: transaction: bcrypt, mail and HTTP run outside them.
IDLE_IN_TRANSACTION_TIMEOUT = "30s"
#: Seconds a request waits for a pooled connection, and for a new one to connect.
DEFAULT_POOL_TIMEOUT = 10.0


def fold(text: str) -> str:
    """The case-insensitive form of a text, as Python and every adapter compare it."""
    return unicodedata.normalize("NFC", text).casefold()


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_database_engine(
    url: str | URL,
    *,
    echo: bool = False,
    pool_size: int = 10,
    max_overflow: int | None = None,
    pool_timeout: float = DEFAULT_POOL_TIMEOUT,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    **engine_options: Any,
) -> AsyncEngine:
    """One engine per process (and per database). `url` names the async driver:
    `postgresql+asyncpg://...` or `sqlite+aiosqlite:///path/to/file.db`.

    PostgreSQL keeps up to `pool_size` connections open and opens `max_overflow` (by
    default as many again) more under bursts. Transient failures raise
    `StorageUnavailable` (see `failures.py`); nothing waits longer than `pool_timeout`
    for a connection."""
    # A failing statement's message would otherwise quote its bound values (e-mail
    # addresses, password hashes, token digests), and such messages reach the logs.
    engine_options.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.drivername == "sqlite":
            parsed = parsed.set(drivername="sqlite+aiosqlite")
        engine = _sqlite_engine(parsed, echo, busy_timeout_ms, pool_timeout, engine_options)
    else:
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+asyncpg")
        if "poolclass" not in engine_options:
            engine_options.update(poolclass=TranslatingPool, pool_timeout=pool_timeout)
            engine_options.setdefault("pool_size", pool_size)
            engine_options.setdefault(
                "max_overflow", pool_size if max_overflow is None else max_overflow
            )
        # No pre-ping: it cost a round trip (three outside autocommit) on every
        # checkout. Dead connections are found without one (see `failures.py`).
        engine_options.setdefault("pool_pre_ping", False)
        engine_options.setdefault(
            "connect_args",
            {
                "timeout": pool_timeout,
                "server_settings": {
                    "application_name": "eventapi",
                    "idle_in_transaction_session_timeout": IDLE_IN_TRANSACTION_TIMEOUT,
                },
            },
        )
        engine = create_async_engine(parsed, echo=echo, **engine_options)
        discard_closed_connections(engine)
    translate_failures(engine)
    return engine


def _sqlite_engine(
    url: URL,
    echo: bool,
    busy_timeout_ms: int,
    pool_timeout: float,
    engine_options: dict[str, Any],
) -> AsyncEngine:
    in_memory = url.database in (None, "", ":memory:")
    engine_options.setdefault("connect_args", {"timeout": busy_timeout_ms / 1000})
    if not in_memory and "poolclass" not in engine_options:  # a file: SQLAlchemy's QueuePool
        engine_options.update(poolclass=TranslatingPool, pool_timeout=pool_timeout)
    engine = create_async_engine(url, echo=echo, **engine_options)
    busy_timeout = int(busy_timeout_ms)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from sqlite3 (see the module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_timeout}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()
        dbapi_connection.create_function("eventapi_fold", 1, _fold_or_none, deterministic=True)
        dbapi_connection.create_function(
            "eventapi_distance_km", 4, _distance_km, deterministic=True
        )

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(WRITE_LOCK):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


def _fold_or_none(text: str | None) -> str | None:
    return None if text is None else fold(text)


def _distance_km(
    lat1: float | None, lng1: float | None, lat2: float | None, lng2: float | None
) -> float | None:
    """The domain's own haversine, so SQLite and the in-memory adapter agree exactly."""
    if lat1 is None or lng1 is None or lat2 is None or lng2 is None:
        return None
    return Coordinates(lat1, lng1).distance_km(Coordinates(lat2, lng2))
