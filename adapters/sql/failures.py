"""Storage failures as `StorageUnavailable`, never as driver errors.

Two places see them. Errors of a statement, a commit or the opening of a
connection pass through SQLAlchemy's `handle_error` event, where the transient
ones are replaced: a connection the server dropped (which also throws the
connection out of the pool), the server shutting down or starting up, too many
connections, and SQLite's busy or unopenable file. Waiting for a pooled
connection longer than the pool timeout, and a connection the operating system
refuses or times out, never reach that event: the pool (`TranslatingPool`)
translates them itself.

Anything else (a wrong password, a missing database, a constraint, a bug) is
not transient and passes through unchanged.

Recovery needs nothing, and costs no round trip (there is no `pool_pre_ping`,
which cost one on every checkout, three outside autocommit):

- A connection whose socket the server closed (a restart, an administrator's
  kill, an idle timeout) is known closed to asyncpg as soon as the event loop
  has seen the close; the pool's checkout hook (`discard_closed_connections`)
  throws it away and lends a fresh one instead.
- A connection that dies under a statement raises `ConnectionLost`, and
  SQLAlchemy invalidates it and every connection pooled before it, so the next
  checkout connects anew. Reads are single idempotent statements and are tried
  once more on a fresh connection (`adapters/sql/reading.py`); a unit of work
  that lost its connection answers 503 once and is not retried (it may have
  committed).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry, PoolProxiedConnection

from application.ports.storage import StorageUnavailable

#: SQLSTATEs that say "not now": class 08 (connection exception), admin or crash
#: shutdown, "cannot connect now" (starting up or shutting down), too many connections.
_TRANSIENT_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})
#: SQLite's OperationalError messages that say "not now".
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "unable to open database")


class ConnectionLost(StorageUnavailable):
    """The connection broke under a statement (or its commit): the statement may or
    may not have reached the database."""


class TranslatingPool(AsyncAdaptedQueuePool):
    """The default async pool, but a checkout that fails for want of a connection
    raises `StorageUnavailable`: the pool stayed full for its whole timeout, or
    connecting (or reconnecting after a failed pre-ping) was refused or timed out."""

    def connect(self) -> PoolProxiedConnection:
        try:
            return super().connect()
        except exc.TimeoutError as failure:
            raise StorageUnavailable(
                f"no database connection free within {self._timeout:g} s "
                f"(pool of {self.size()} + {self._max_overflow} overflow)"
            ) from failure
        except OSError as failure:  # refused, reset, unreachable, timed out (TimeoutError)
            raise StorageUnavailable(f"cannot reach the database: {failure}") from failure


def translate_failures(engine: AsyncEngine) -> None:
    """Install the `handle_error` translation on `engine` (see the module docstring)."""
    event.listen(engine.sync_engine, "handle_error", _translated)


def discard_closed_connections(engine: AsyncEngine) -> None:
    """On checkout, a pooled asyncpg connection that is already closed is replaced
    (the pool retries the checkout on `DisconnectionError`): no round trip."""
    event.listen(engine.sync_engine, "checkout", _refuse_closed)


def _refuse_closed(_dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    is_closed = getattr(record.driver_connection, "is_closed", None)
    if is_closed is not None and is_closed():
        raise exc.DisconnectionError("the server closed the pooled connection")


def _translated(context: ExceptionContext) -> BaseException | None:
    if context.is_pre_ping:
        return None  # the pool replaces the connection; it raises if it cannot
    original = context.original_exception
    if isinstance(original, OSError):  # the socket broke under a statement
        context.is_disconnect = True
    if context.is_disconnect:
        return ConnectionLost(f"the database connection was lost: {_first_line(original)}")
    if _transient(original):
        return StorageUnavailable(f"the database cannot answer now: {_first_line(original)}")
    return None


def _transient(error: BaseException) -> bool:
    state: Any = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(state, str) and (state.startswith("08") or state in _TRANSIENT_STATES):
        return True
    return isinstance(error, sqlite3.OperationalError) and str(error).startswith(_SQLITE_TRANSIENT)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
