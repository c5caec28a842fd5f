"""One `Idempotency-Key` sent 8 times at once to two `eventapi serve` processes that
share one database (PostgreSQL, and one SQLite file): the action is done exactly
once; every other answer is the first one replayed (same status and body, with
`Idempotent-Replayed: true`) or 409 `/problems/idempotency-key-in-use`, never the
answer of a second action ("already registered", "email taken").

The claim is the database's (INSERT ... ON CONFLICT DO NOTHING on the primary key),
so no process-local lock could make this pass by accident: the requests are spread
over both processes.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Table, func, select

from adapters.sql.engine import create_database_engine
from adapters.sql.tables import events, registrations, users
from tests.e2e.conftest import (  # noqa: F401 - `database`: a fixture, found by name
    PASSWORD,
    database,
    event_body,
)
from tests.security.processes import (
    EVENTAPI,
    Process,
    clean_environment,
    start_eventapi,
    wait_until_ready,
)

API = "/api/v1"
AT_ONCE = 8
IN_USE = "/problems/idempotency-key-in-use"


@dataclass
class Cluster:
    servers: list[Process]
    env: dict[str, str]
    workdir: Path
    database_url: str

    async def count(self, table: Table) -> int:
        engine = create_database_engine(self.database_url)
        try:
            async with engine.connect() as connection:
                found = await connection.execute(select(func.count()).select_from(table))
                return int(found.scalar_one())
        finally:
            await engine.dispose()


@pytest.fixture
async def cluster(
    database: tuple[str, str],  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> AsyncIterator[Cluster]:
    """Two API processes on the e2e suite's `database` (for SQLite: one file for both)."""
    _, database_url = database
    env = clean_environment(
        ENV="test",
        DATA_DIR=str(tmp_path / "data"),
        DATABASE_URL=database_url,
        SECRET_KEY="i" * 48,
        BCRYPT_ROUNDS="4",
        RATE_LIMITS="off",
        INPROCESS_WORKER="off",
        DATABASE_POOL_SIZE="4",
    )
    servers = [start_eventapi(f"eventapi-{n}", env, tmp_path) for n in (1, 2)]
    try:
        for server in servers:
            await wait_until_ready(server)
        yield Cluster(servers, env, tmp_path, database_url)
    finally:
        for server in servers:
            server.stop()


async def all_at_once(
    cluster: Cluster, path: str, headers: dict[str, str], json: object = None
) -> list[httpx.Response]:
    """AT_ONCE identical POSTs, alternating between the two processes, sent together."""
    clients = [
        httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=30)
        for server in cluster.servers
    ]
    try:
        return list(
            await asyncio.gather(
                *(clients[i % 2].post(path, json=json, headers=headers) for i in range(AT_ONCE))
            )
        )
    finally:
        for client in clients:
            await client.aclose()


def assert_done_once(answers: list[httpx.Response], status: int) -> None:
    firsts = [
        a for a in answers if a.status_code == status and "idempotent-replayed" not in a.headers
    ]
    replays = [a for a in answers if a.headers.get("idempotent-replayed") == "true"]
    in_use = [a for a in answers if a.status_code == 409 and a.json()["type"] == IN_USE]
    assert len(firsts) == 1, [(a.status_code, a.text) for a in answers]
    assert len(firsts) + len(replays) + len(in_use) == AT_ONCE, [a.text for a in answers]
    (first,) = firsts
    for replay in replays:
        assert (replay.status_code, replay.content) == (first.status_code, first.content)
        assert replay.headers.get("location") == first.headers.get("location")


def create_admin(cluster: Cluster, email: str) -> None:
    made = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [*EVENTAPI, "create-admin", "--email", email],
        input=PASSWORD,
        cwd=cluster.workdir,
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr


async def sign_in(cluster: Cluster, email: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=cluster.servers[0].url, trust_env=False) as client:
        form = {"grant_type": "password", "username": email, "password": PASSWORD}
        response = await client.post(f"{API}/auth/token", data=form)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_eight_requests_with_one_key_on_two_processes_act_once(cluster: Cluster) -> None:
    """Sign-up (anonymous: keyed by the client address), creating an event and
    joining it (signed in: keyed by the user), each 8 times at once."""
    body = {"email": "once@example.org", "password": PASSWORD, "full_name": "Only Once"}
    signed_up = await all_at_once(
        cluster, f"{API}/auth/register", {"Idempotency-Key": "sign-me-up"}, body
    )
    assert_done_once(signed_up, 201)
    assert await cluster.count(users) == 1

    create_admin(cluster, "admin@example.org")
    admin = await sign_in(cluster, "admin@example.org")
    created = await all_at_once(
        cluster,
        f"{API}/events",
        {**admin, "Idempotency-Key": "new-event"},
        event_body(status="published"),
    )
    assert_done_once(created, 201)
    assert await cluster.count(events) == 1

    event_id = next(a for a in created if a.status_code == 201).json()["id"]
    joined = await all_at_once(
        cluster, f"{API}/events/{event_id}/registrations", {**admin, "Idempotency-Key": "j"}
    )
    assert_done_once(joined, 201)
    assert await cluster.count(registrations) == 1

    # Two Idempotency-Key headers (the e2e test transport would join them into one).
    async with httpx.AsyncClient(base_url=cluster.servers[1].url, trust_env=False) as client:
        twice = await client.post(
            f"{API}/auth/register",
            json={**body, "email": "twice@example.org"},
            headers=[("Idempotency-Key", "one"), ("Idempotency-Key", "two")],
        )
    assert twice.status_code == 400, twice.text
    assert twice.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await cluster.count(users) == 2  # the admin and the one sign-up
