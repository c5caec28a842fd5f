"""What `eventapi serve` and `eventapi worker` do when PostgreSQL fails under them,
and when they are told to stop under load: real processes, real PostgreSQL.

A database outage is a TCP proxy (tests/tcp_proxy.py) between the server and
PostgreSQL, killed and started again. A slow database is a table lock held by the
test: requests that read the table wait on it, holding their pooled connections,
and the test watches them wait in `pg_stat_activity`. Every wait polls for an
observable state against a deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from adapters.sql.tables import outbox
from application.use_cases.sign_up import SignUpCommand
from entrypoints.commands.serve import GRACEFUL_SHUTDOWN_SECONDS
from entrypoints.container import build_container, close_resources
from entrypoints.settings import Settings
from tests.mail_server import MailServer
from tests.security.processes import (
    LOOPBACK,
    POLL_SECONDS,
    Process,
    clean_environment,
    start_eventapi,
    wait_until_ready,
)
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres

EVENTS = "/api/v1/events"
SECRET = "a-secret-key-for-the-outage-tests-only-0123456789"
#: The pool timeout the servers under test get, and how far past it an answer may come
#: on a busy two-core machine (it is the "no hang" bound, not a performance target).
POOL_TIMEOUT = 2
SLACK_SECONDS = 8.0
#: How long a recovered database may take to be used again, and other deadlines.
RECOVERY_SECONDS = 10.0
DEADLINE_SECONDS = 30.0
LEAKS = ("Traceback", "sqlalchemy", "asyncpg", "Errno", "Connect call", "SELECT")


def environment(tmp_path: Path, database_url: str, **settings: str) -> dict[str, str]:
    return clean_environment(
        ENV="test",
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET,
        DATA_DIR=str(tmp_path / "data"),
        RATE_LIMITS="off",
        BCRYPT_ROUNDS="4",
        INPROCESS_WORKER="off",
        DATABASE_POOL_TIMEOUT=str(POOL_TIMEOUT),
        # Every read must reach the database here: no anonymous page from the read cache.
        READ_CACHE_TTL="0",
        **settings,
    )


def assert_unavailable(response: httpx.Response) -> None:
    """503 problem+json asking to come back later, and nothing of the cause."""
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert (body["status"], body["type"]) == (503, "/problems/service-unavailable")
    assert not [leak for leak in LEAKS if leak in response.text], response.text


async def until(check: Callable[[], Awaitable[bool]], what: str, within: float) -> float:
    """Poll `check` until it holds; the seconds it took (fails after `within`)."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            pytest.fail(f"not within {within} s: {what}")
        await asyncio.sleep(POLL_SECONDS)
    return time.monotonic() - started


@pytest.fixture
async def direct(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """Connections of the test's own, straight to PostgreSQL (never through a proxy)."""
    engine = create_async_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        yield engine
    finally:
        await engine.dispose()


async def lock_events(engine: AsyncEngine) -> AsyncConnection:
    """A transaction that holds the events table: every read of it waits. Roll it back
    (then close it) to let them go."""
    holder = await engine.execution_options(isolation_level="READ COMMITTED").connect()
    await holder.begin()
    await holder.execute(text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
    return holder


async def release(holder: AsyncConnection) -> None:
    await holder.rollback()
    await holder.close()


def waiting_on_the_lock(engine: AsyncEngine, count: int) -> Callable[[], Awaitable[bool]]:
    """Whether `count` of eventapi's connections to this database wait for a lock."""

    async def check() -> bool:
        async with engine.connect() as watcher:
            waiting = await watcher.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name = 'eventapi' AND wait_event_type = 'Lock'"
                )
            )
        return int(waiting or 0) >= count

    return check


def through(postgres_url: str, proxy: TcpProxy) -> str:
    url = make_url(postgres_url).set(host=LOOPBACK, port=proxy.port)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    target = make_url(postgres_url)
    forwarder = TcpProxy(target.host or LOOPBACK, target.port or 5432)
    forwarder.start()
    try:
        yield forwarder
    finally:
        forwarder.close()


@pytest.fixture
def servers() -> Iterator[list[Process]]:
    """Processes a test started: stopped (SIGTERM, then SIGKILL) whatever happens."""
    started: list[Process] = []
    yield started
    for server in started:
        server.stop()


async def test_postgres_dropped_mid_run_is_503_then_the_service_recovers_by_itself(
    postgres_url: str,
    proxy: TcpProxy,
    direct: AsyncEngine,
    servers: list[Process],
    tmp_path: Path,
) -> None:
    server = start_eventapi("api", environment(tmp_path, through(postgres_url, proxy)), tmp_path)
    servers.append(server)
    await wait_until_ready(server)
    async with httpx.AsyncClient(
        base_url=server.url, trust_env=False, timeout=DEADLINE_SECONDS
    ) as client:
        assert (await client.get(EVENTS)).status_code == 200  # the pool holds a connection

        # Dropped under a statement: a request waits in PostgreSQL when the link dies.
        holder = await lock_events(direct)
        try:
            in_flight = asyncio.create_task(client.get(EVENTS))
            await until(waiting_on_the_lock(direct, 1), "a request waiting", DEADLINE_SECONDS)
            proxy.kill()
            started = time.monotonic()
            assert_unavailable(await in_flight)
            assert time.monotonic() - started < SLACK_SECONDS
        finally:
            await release(holder)

        # Unreachable: reads and writes alike are refused promptly, never a 500 or a hang.
        for attempt in (
            client.get(EVENTS),
            client.post(
                "/api/v1/auth/register",
                json={
                    "email": "outage@example.org",
                    "password": "plenty of words for a passphrase",
                    "full_name": "Olive Outage",
                },
            ),
        ):
            started = time.monotonic()
            assert_unavailable(await attempt)
            assert time.monotonic() - started < POOL_TIMEOUT + SLACK_SECONDS
        ready = await client.get("/health/ready")
        assert (ready.status_code, ready.json()["checks"]) == (503, {"database": "unavailable"})
        assert (await client.get("/health/live")).status_code == 200

        # Back: the same process serves again, with no restart.
        proxy.start()

        async def serving() -> bool:
            return (await client.get(EVENTS)).status_code == 200

        await until(serving, "requests served again", RECOVERY_SECONDS)
        ready = await client.get("/health/ready")
        assert (ready.status_code, ready.json()["checks"]) == (200, {"database": "ok"})
    server.check_running()
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log  # an outage is a warning line, not a crash report
    assert "storage unavailable" in log


async def test_an_exhausted_pool_is_503_within_the_pool_timeout(
    postgres_url: str, direct: AsyncEngine, servers: list[Process], tmp_path: Path
) -> None:
    # Two pooled connections (and two more for bursts): 50 slow requests cannot all
    # have one, and those left waiting give up after the pool timeout.
    env = environment(tmp_path, postgres_url, DATABASE_POOL_SIZE="2")
    server = start_eventapi("api", env, tmp_path)
    servers.append(server)
    await wait_until_ready(server)
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(
        base_url=server.url, trust_env=False, timeout=DEADLINE_SECONDS, limits=limits
    ) as client:

        async def timed() -> tuple[httpx.Response, float]:
            started = time.monotonic()
            response = await client.get(EVENTS)
            return response, time.monotonic() - started

        holder = await lock_events(direct)
        try:
            requests = [asyncio.create_task(timed()) for _ in range(50)]

            async def refused() -> bool:
                return sum(task.done() for task in requests) >= 50 - 4

            await until(refused, "the requests without a connection answered", DEADLINE_SECONDS)
            early = [task.result() for task in requests if task.done()]
        finally:
            await release(holder)
        answers = await asyncio.gather(*requests)

    for response, seconds in early:
        assert_unavailable(response)
        assert seconds < POOL_TIMEOUT + SLACK_SECONDS
    statuses = sorted(response.status_code for response, _ in answers)
    assert set(statuses) <= {200, 503}, statuses
    assert 1 <= statuses.count(200) <= 4  # those that had a connection finish normally


async def test_sigterm_under_load_finishes_every_accepted_request_and_refuses_new_ones(
    postgres_url: str, direct: AsyncEngine, servers: list[Process], tmp_path: Path
) -> None:
    server = start_eventapi("api", environment(tmp_path, postgres_url), tmp_path)
    servers.append(server)
    await wait_until_ready(server)
    accepted = 12
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(
        base_url=server.url, trust_env=False, timeout=DEADLINE_SECONDS, limits=limits
    ) as client:
        holder = await lock_events(direct)
        try:
            requests = [asyncio.create_task(client.get(EVENTS)) for _ in range(accepted)]
            await until(waiting_on_the_lock(direct, accepted), "requests in flight", 30)
            server.process.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()

            async def refusing() -> bool:
                with socket.socket() as probe:
                    probe.settimeout(1)
                    return probe.connect_ex((LOOPBACK, server.port)) != 0

            await until(refusing, "new connections refused", DEADLINE_SECONDS)
            assert not any(task.done() for task in requests)
        finally:
            await release(holder)
        answers = await asyncio.gather(*requests, return_exceptions=True)

    assert [getattr(answer, "status_code", answer) for answer in answers] == [200] * accepted

    async def exited() -> bool:
        return server.process.poll() is not None

    await until(exited, "the server exited", GRACEFUL_SHUTDOWN_SECONDS + SLACK_SECONDS)
    assert time.monotonic() - stopped_at < GRACEFUL_SHUTDOWN_SECONDS + SLACK_SECONDS
    # uvicorn ends by re-raising the signal it handled: death by SIGTERM, after a clean stop.
    assert server.process.returncode in {0, -signal.SIGTERM}, server.output()
    assert "Application shutdown complete." in server.output()


async def test_sigterm_lets_the_worker_finish_its_batch(
    postgres_url: str, postgres_engine: AsyncEngine, direct: AsyncEngine, tmp_path: Path
) -> None:
    # `postgres_engine` emptied every table: the outbox holds only this test's mail.
    settings = Settings.from_environment(
        {
            "EVENTAPI_ENV": "test",
            "EVENTAPI_DATA_DIR": str(tmp_path),
            "EVENTAPI_DATABASE_URL": postgres_url,
            "EVENTAPI_SECRET_KEY": SECRET,
            "EVENTAPI_BCRYPT_ROUNDS": "4",
        }
    )
    container = build_container(settings)
    try:
        for n in range(3):  # a welcome mail each, in the outbox
            await container.sign_up().execute(
                SignUpCommand(
                    email=f"batch{n}@example.org",
                    password="plenty of words for a passphrase",
                    full_name=f"Batch Person {n}",
                )
            )
    finally:
        await close_resources(container)

    gate = asyncio.Event()
    relay = MailServer(hold=gate)
    await relay.start()
    env = environment(tmp_path, postgres_url, SMTP_URL=relay.url)
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "entrypoints.cli",
        "worker",
        "--poll-interval",
        "0.05",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await until(_holding(relay), "a message in the relay's hands", DEADLINE_SECONDS)
        worker.send_signal(signal.SIGTERM)  # mid-batch: a message is being sent
        gate.set()
        async with asyncio.timeout(DEADLINE_SECONDS):
            out, err = await worker.communicate()
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
        await relay.stop()

    assert worker.returncode == 0, err.decode()
    assert out.decode().rstrip().endswith("eventapi worker: stopped")
    async with direct.connect() as connection:
        rows = (await connection.execute(outbox.select())).mappings().all()
    claimed = [row for row in rows if row["attempts"] > 0]
    assert claimed  # the batch in hand when the signal came ...
    assert all(row["status"] == "sent" for row in claimed), rows  # ... was finished
    assert len(relay.received) == len(claimed)


def _holding(relay: MailServer) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return relay.holding > 0

    return check
