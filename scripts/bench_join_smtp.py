"""Join latency with the mail relay up, down or hanging: it must not change.

    python3 -m uv run python scripts/bench_join_smtp.py            # SQLite and PostgreSQL
    python3 -m uv run python scripts/bench_join_smtp.py --backends sqlite --joins 200

Each join is RegisterForEvent on the SQL adapter (one request's work: lock the
event, add the registration, queue the confirmation in the outbox, commit),
while the notification worker runs in the same process and event loop, as in
the embedded default, against an SMTP relay that is

- up:   aiosmtpd in a separate process, accepting every message;
- down: nothing listens on its port (connection refused);
- hang: a socket that accepts connections and never says a word, so each
        delivery attempt waits for the SMTP timeout.

Modes are interleaved round by round (up, down, hang, up, down, hang, ...) so
that drift of the machine hits them alike, and the ratios down/up and hang/up
are computed from the same run. PostgreSQL gets a throwaway database on
--postgres-server, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from sqlalchemy import text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.mail.composer import MailComposer
from adapters.mail.smtp import SmtpNotifier, SmtpRelay
from adapters.sql.engine import create_database_engine
from adapters.sql.event_queries import SqlEventQueries
from adapters.sql.migrate import upgrade_database
from adapters.sql.outbox_queue import SqlOutboxQueue
from adapters.sql.tables import outbox
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from adapters.sql.user_queries import SqlUserQueries
from adapters.system_clock import SystemClock
from adapters.uuid7 import Uuid7Generator
from application.delivery_policy import DeliveryPolicy
from application.principal import Principal
from application.use_cases.deliver_notifications import DeliverNotifications, Outcome
from application.use_cases.register_for_event import RegisterForEvent, RegisterForEventCommand
from domain.event import Event
from domain.users import Role, User
from domain.values import Capacity, EmailAddress, Location, TimeWindow

LOOPBACK = "127.0.0.1"
MODES = ("none", "up", "down", "hang")
SMTP_TIMEOUT = 5.0


@dataclass
class Samples:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in MODES})
    outcomes: dict[str, dict[str, int]] = field(default_factory=lambda: {m: {} for m in MODES})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def relay(mode: str, port: int) -> Iterator[None]:
    """The relay on `port` in the given state, for the length of the block."""
    if mode in ("down", "none"):
        yield
        return
    if mode == "hang":
        with socket.socket() as silent:
            silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            silent.bind((LOOPBACK, port))
            silent.listen(1024)  # the kernel accepts; nobody ever answers
            yield
        return
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-c",
            "aiosmtpd.handlers.Sink",
            "-l",
            f"{LOOPBACK}:{port}",
        ]
    )
    try:
        wait_until_listening(port)
        yield
    finally:
        server.terminate()
        server.wait(timeout=10)


def wait_until_listening(port: int, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.2):
            return
        time.sleep(0.05)  # polling a process we just started, with a deadline
    raise RuntimeError(f"the relay did not start on port {port}")


@contextlib.asynccontextmanager
async def database(backend: str, server: str) -> AsyncIterator[AsyncEngine]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            engine = create_database_engine(f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}")
            try:
                await upgrade_database(engine)
                yield engine
            finally:
                await engine.dispose()
        return
    admin_url = make_url(server).set(drivername="postgresql+asyncpg")
    name = f"eventapi_bench_{secrets.token_hex(4)}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_database_engine(admin_url.set(database=name))
    try:
        await upgrade_database(engine)
        yield engine
    finally:
        await engine.dispose()
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def person(ids: Uuid7Generator, now: datetime, role: Role = Role.ATTENDEE) -> User:
    user_id = ids.new_id()
    return User(
        id=user_id,
        email=EmailAddress(f"{user_id.hex}@bench.example"),
        full_name="Bench Person",
        role=role,
        password_hash="-",  # noqa: S106 - nobody signs in
        is_active=True,
        created_at=now,
        updated_at=now,
    )


def big_event(ids: Uuid7Generator, organizer: UUID, now: datetime, seats: int) -> Event:
    event = Event.plan(
        id=ids.new_id(),
        organizer_id=organizer,
        title="Benchmark night",
        description="",
        location=Location(venue="Hall", city="Berlin", country="DE"),
        window=TimeWindow(
            starts_at=now + timedelta(days=30),
            ends_at=now + timedelta(days=30, hours=2),
            timezone="Europe/Berlin",
        ),
        capacity=Capacity(seats),
        waitlist_enabled=False,
        now=now,
    )
    event.publish(now)
    event.pull_recorded()
    return event


async def measure(backend: str, args: argparse.Namespace) -> Samples:
    samples = Samples()
    clock, ids = SystemClock(), Uuid7Generator()
    port = free_port()
    async with database(backend, args.postgres_server) as engine:
        uow = SqlUnitOfWorkFactory(engine)
        register = RegisterForEvent(uow, clock, ids)
        worker = DeliverNotifications(
            SqlOutboxQueue(engine),
            SmtpNotifier(
                SmtpRelay(host=LOOPBACK, port=port, timeout=SMTP_TIMEOUT),
                MailComposer(sender="bench <bench@eventapi.test>", public_url="http://bench"),
            ),
            SqlUserQueries(engine),
            SqlEventQueries(engine),
            clock,
            DeliveryPolicy(batch_size=20),
        )
        for round_number in range(args.rounds):
            for mode in MODES:
                now = clock.now()
                organizer = person(ids, now, Role.ORGANIZER)
                people = [person(ids, now) for _ in range(args.joins)]
                event = big_event(ids, organizer.id, now, args.joins)
                async with uow() as work:
                    for user in (organizer, *people):
                        await work.users.add(user)
                    await work.events.add(event)
                    await work.commit()
                with relay(mode, port):
                    latencies, outcomes = await joins_with_worker(
                        register, None if mode == "none" else worker, event, people, args.rate
                    )
                await settle_backlog(engine)
                samples.latencies[mode] += latencies
                for outcome, count in outcomes.items():
                    samples.outcomes[mode][outcome] = samples.outcomes[mode].get(outcome, 0) + count
                print(
                    f"  {backend:8} round {round_number + 1} {mode:4}: "
                    f"p50 {ms(statistics.median(latencies))}  worker {outcomes}",
                    file=sys.stderr,
                )
    return samples


async def settle_backlog(engine: AsyncEngine) -> None:
    """Each round starts with an empty queue, so the worker's load is that
    round's own confirmations (what a round left is taken off, unsent)."""
    async with engine.begin() as connection:
        await connection.execute(
            update(outbox).where(outbox.c.status == "pending").values(status="sent")
        )


async def joins_with_worker(
    register: RegisterForEvent,
    worker: DeliverNotifications | None,
    event: Event,
    people: list[User],
    rate: float,
) -> tuple[list[float], dict[str, int]]:
    """Joins arrive one after another at `rate` a second (a request that starts
    late, behind a slow one, starts at once), while `worker` delivers."""
    stop = asyncio.Event()
    outcomes: dict[str, int] = {}

    async def deliver(worker: DeliverNotifications) -> None:
        while not stop.is_set():
            report = await worker.execute()
            for outcome in Outcome:
                if report.count(outcome):
                    outcomes[outcome.value] = outcomes.get(outcome.value, 0) + report.count(outcome)
            if not report.claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.05)

    delivering = None if worker is None else asyncio.create_task(deliver(worker))
    latencies = []
    loop = asyncio.get_running_loop()
    began = loop.time()
    for number, user in enumerate(people):
        due = began + number / rate
        if due > loop.time():
            await asyncio.sleep(due - loop.time())  # the next request's arrival time
        command = RegisterForEventCommand(
            actor=Principal(user_id=user.id, role=Role.ATTENDEE), event_id=event.id
        )
        started = time.perf_counter()
        await register.execute(command)
        latencies.append(time.perf_counter() - started)
    stop.set()
    if delivering is not None:
        # A worker stuck on a hanging relay is not waited for: what it holds stays leased.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(delivering), timeout=2)
        delivering.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await delivering
    return latencies, outcomes


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def report(backend: str, samples: Samples) -> None:
    up = samples.latencies["up"]
    print(f"\n{backend}: {len(up)} joins per mode (none: no worker running)")
    print(f"  {'mode':5} {'p50':>10} {'p95':>10} {'mean':>10}   worker outcomes")
    for mode in MODES:
        values = samples.latencies[mode]
        print(
            f"  {mode:5} {ms(statistics.median(values))} {ms(p95(values))} "
            f"{ms(statistics.fmean(values))}   {samples.outcomes[mode]}"
        )
    for mode in ("down", "hang", "none"):
        values = samples.latencies[mode]
        p50_ratio = statistics.median(values) / statistics.median(up)
        mean_ratio = statistics.fmean(values) / statistics.fmean(up)
        print(
            f"  {mode}/up: p50 x{p50_ratio:.2f}  p95 x{p95(values) / p95(up):.2f}  "
            f"mean x{mean_ratio:.2f}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backends", nargs="+", choices=("sqlite", "postgres"), default=["sqlite", "postgres"]
    )
    parser.add_argument("--joins", type=int, default=300, help="joins per mode and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=100.0, help="joins a second")
    parser.add_argument(
        "--postgres-server", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    # Each failed attempt is logged as a warning; thousands of them are noise here.
    logging.getLogger("application").setLevel(logging.ERROR)
    started = datetime.now(UTC)
    results = {backend: await measure(backend, args) for backend in args.backends}
    print(f"\njoin latency, SMTP up / down / hanging ({started:%Y-%m-%d %H:%M} UTC)")
    for backend, samples in results.items():
        report(backend, samples)


if __name__ == "__main__":
    asyncio.run(main())
