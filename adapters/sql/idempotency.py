"""IdempotencyStore on SQLite and PostgreSQL: one row per (caller, key).

Each operation is one short transaction of its own, never the request's: the
claim must be visible to every other server process at once, and the request's
own transactions commit (or not) on their own.

- The claim is `INSERT ... ON CONFLICT DO NOTHING`: of any number of concurrent
  first requests exactly one inserts the row (the primary key decides, across
  processes), the others read the row it wrote.
- Taking over a row (its lease ran out, or it outlived `RETENTION` and awaits
  the purge), completing and releasing are conditional on the token the row
  holds (`UPDATE/DELETE ... WHERE token = :seen`): of two processes acting on
  what they read at once, one changes the row and the other finds 0 rows and
  reads again.
- On SQLite every transaction here begins with BEGIN IMMEDIATE (the write lock),
  so a read-then-update cannot be interleaved by another process's write.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.engine import WRITE_LOCK, is_sqlite
from adapters.sql.statements import insert_or_ignore
from adapters.sql.tables import idempotency_keys as table
from application.ports.idempotency import (
    LEASE,
    RETENTION,
    Claimed,
    ClaimOutcome,
    IdempotencyStore,
    InFlight,
    Mismatch,
    Replay,
    StoredResponse,
)

#: Rounds of "insert, else read and act" before giving up; each lost round means
#: another request changed the row in between, which cannot go on for long.
MAX_ROUNDS = 8


class SqlIdempotencyStore(IdempotencyStore):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = (
            engine.execution_options(**{WRITE_LOCK: True}) if is_sqlite(engine) else engine
        )

    async def claim(
        self, caller: str, key: str, fingerprint: str, *, now: datetime
    ) -> ClaimOutcome:
        for _ in range(MAX_ROUNDS):
            token = secrets.token_hex(16)
            async with self._engine.begin() as connection:
                outcome = await self._claim_once(connection, caller, key, fingerprint, now, token)
            if outcome is not None:
                return outcome
        return InFlight()  # the row kept changing under us: someone else is at it

    async def _claim_once(
        self,
        connection: AsyncConnection,
        caller: str,
        key: str,
        fingerprint: str,
        now: datetime,
        token: str,
    ) -> ClaimOutcome | None:
        fresh = {
            "fingerprint": fingerprint,
            "token": token,
            "created_at": now,
            "locked_until": now + LEASE,
            "status": None,
            "headers": None,
            "body": None,
        }
        inserted = await connection.execute(
            insert_or_ignore(connection, table, [table.c.caller, table.c.key]),
            {"caller": caller, "key": key, **fresh},
        )
        if inserted.rowcount == 1:
            return Claimed(token)
        row = (
            (
                await connection.execute(
                    select(table).where(table.c.caller == caller, table.c.key == key)
                )
            )
            .mappings()
            .first()
        )
        if row is None:  # purged or released in between: insert again
            return None
        if row["created_at"] <= now - RETENTION:  # forgotten, only not purged yet
            return await _take_over(connection, caller, key, row["token"], token, fresh)
        if row["fingerprint"] != fingerprint:
            return Mismatch()
        if row["status"] is not None:
            return Replay(_stored(row))
        if row["locked_until"] > now:
            return InFlight()
        return await _take_over(
            connection, caller, key, row["token"], token, {"locked_until": now + LEASE}
        )

    async def complete(self, caller: str, key: str, token: str, response: StoredResponse) -> bool:
        statement = (
            update(table)
            .where(*_owned(caller, key, token))
            .values(
                status=response.status,
                headers=[list(pair) for pair in response.headers],
                body=response.body,
            )
        )
        async with self._engine.begin() as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount == 1)

    async def release(self, caller: str, key: str, token: str) -> bool:
        async with self._engine.begin() as connection:
            result = await connection.execute(delete(table).where(*_owned(caller, key, token)))
        return bool(result.rowcount == 1)

    async def forget_caller(self, caller: str) -> int:
        async with self._engine.begin() as connection:
            result = await connection.execute(delete(table).where(table.c.caller == caller))
        return int(result.rowcount)


def _owned(caller: str, key: str, token: str) -> tuple[Any, ...]:
    """The row of (caller, key) while it is still the claim `token`, unanswered."""
    return (
        table.c.caller == caller,
        table.c.key == key,
        table.c.token == token,
        table.c.status.is_(None),
    )


async def _take_over(
    connection: AsyncConnection,
    caller: str,
    key: str,
    seen: str,
    token: str,
    values: dict[str, Any],
) -> Claimed | None:
    result = await connection.execute(
        update(table)
        .where(table.c.caller == caller, table.c.key == key, table.c.token == seen)
        .values(token=token, **{k: v for k, v in values.items() if k != "token"})
    )
    return Claimed(token) if result.rowcount == 1 else None


def _stored(row: Any) -> StoredResponse:
    headers = tuple((str(name), str(value)) for name, value in row["headers"] or ())
    return StoredResponse(status=int(row["status"]), headers=headers, body=bytes(row["body"]))
