"""Join latency with the mail relay up, down or hanging: it must not change.

    python3 -m uv run python scripts/bench_join_smtp.py            # SQLite and PostgreSQL
    python3 -m uv run python scripts/bench_join_smtp.py --backends sqlite --joins 200

Each join is RegisterForEvent on the SQL adapter (one request's work: lock the
event, add the registration, queue the confirmation in the outbox, commit),
arriving at --rate a second, while the notification worker runs either in the
same process and event loop (`inline`, as the embedded default runs it) or as
a process of its own (`process`, as `eventapi worker` runs), against an SMTP
relay that is

- up:   aiosmtpd in a separate process, accepting every message;
- down: nothing listens on its port (connection refused);
- hang: a socket that accepts connections and never says a word, so each
        delivery attempt waits for the SMTP timeout;

and, as a baseline, with no worker at all (`none`).

Modes are interleaved round by round (up, down, hang, up, down, hang, ...) so
that drift of the machine hits them alike, and the ratios down/up and hang/up
are computed from the same run. PostgreSQL gets a throwaway database on
--postgres-server, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
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
RELAYS = ("up", "down", "hang")
PLACEMENTS = ("inline", "process")
SMTP_TIMEOUT = 5.0


@dataclass
class Samples:
    """Latencies and the worker's outcomes by label ("none", "inline up", ...)."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, label: str, latencies: list[float], outcomes: dict[str, int]) -> None:
        self.latencies.setdefault(label, []).extend(latencies)
        total = self.outcomes.setdefault(label, {})
        for outcome, count in outcomes.items():
            total[outcome] = total.get(outcome, 0) + count


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def relay(mode: str, port: int) -> Iterator[None]:
    """The relay on `port` in the given state, for the length of the block."""
    if mode == "down":
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


def make_worker(engine: AsyncEngine, port: int) -> DeliverNotifications:
    return DeliverNotifications(
        SqlOutboxQueue(engine),
        SmtpNotifier(
            SmtpRelay(host=LOOPBACK, port=port, timeout=SMTP_TIMEOUT),
            MailComposer(sender="bench <bench@eventapi.test>", public_url="http://bench"),
        ),
        SqlUserQueries(engine),
        SqlEventQueries(engine),
        SystemClock(),
        DeliveryPolicy(batch_size=20),
    )


def labels(placements: list[str]) -> list[tuple[str, str | None, str | None]]:
    """(label, placement, relay) of every mode of one round, "none" first."""
    modes: list[tuple[str, str | None, str | None]] = [("none", None, None)]
    for placement in placements:
        modes += [(f"{placement} {relay}", placement, relay) for relay in RELAYS]
    return modes


async def measure(backend: str, args: argparse.Namespace) -> Samples:
    samples = Samples()
    clock, ids = SystemClock(), Uuid7Generator()
    port = free_port()
    async with database(backend, args.postgres_server) as engine:
        uow = SqlUnitOfWorkFactory(engine)
        register = RegisterForEvent(uow, clock, ids)
        inline = make_worker(engine, port)
        url = engine.url.render_as_string(hide_password=False)
        for round_number in range(args.rounds):
            for label, placement, mode in labels(args.worker):
                now = clock.now()
                organizer = person(ids, now, Role.ORGANIZER)
                people = [person(ids, now) for _ in range(args.joins)]
                event = big_event(ids, organizer.id, now, args.joins)
                async with uow() as work:
                    for user in (organizer, *people):
                        await work.users.add(user)
                    await work.events.add(event)
                    await work.commit()
                with relay(mode or "down", port):
                    if placement == "process":
                        latencies, outcomes = await joins_beside_a_worker_process(
                            register, url, port, event, people, args.rate
                        )
                    else:
                        latencies, outcomes = await joins_with_worker(
                            register, inline if placement else None, event, people, args.rate
                        )
                await settle_backlog(engine)
                samples.add(label, latencies, outcomes)
                print(
                    f"  {backend:8} round {round_number + 1} {label:14}: "
                    f"p50 {ms(statistics.median(latencies))}  worker {outcomes}",
                    file=sys.stderr,
                )
    return samples


async def joins_beside_a_worker_process(
    register: RegisterForEvent,
    url: str,
    port: int,
    event: Event,
    people: list[User],
    rate: float,
) -> tuple[list[float], dict[str, int]]:
    """The worker in a process of its own (started and ready before the first
    join, stopped after the last), reporting its outcomes as JSON."""
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-worker",
        url,
        str(port),
        stdout=asyncio.subprocess.PIPE,
    )
    assert worker.stdout is not None
    if (await worker.stdout.readline()).strip() != b"ready":
        raise RuntimeError("the worker process did not start")
    try:
        latencies, _ = await joins_with_worker(register, None, event, people, rate)
    finally:
        worker.send_signal(signal.SIGTERM)
    try:
        output, _ = await asyncio.wait_for(worker.communicate(), timeout=30)
    except TimeoutError:
        worker.kill()
        raise
    outcomes: dict[str, int] = json.loads(output or b"{}")
    return latencies, outcomes


async def serve_worker(url: str, port: int) -> None:
    """The worker process: deliver until SIGTERM (a hanging attempt is abandoned),
    then print what it did."""
    engine = create_database_engine(url)
    worker = make_worker(engine, port)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    outcomes: dict[str, int] = {}

    async def deliver() -> None:
        # `stop` ends the loop too: a cancellation that lands in the connection pool's
        # pre-ping can be swallowed there, and the loop must not spin on after it.
        while not stop.is_set():
            report = await worker.execute()
            for outcome in Outcome:
                if report.count(outcome):
                    outcomes[outcome.value] = outcomes.get(outcome.value, 0) + report.count(outcome)
            if not report.claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.05)

    delivering = asyncio.create_task(deliver())
    print("ready", flush=True)
    await stop.wait()
    # Not waited for: an attempt on a hanging relay would hold the exit for its timeout.
    delivering.cancel()
    print(json.dumps(outcomes), flush=True)
    os._exit(0)


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


def report(backend: str, samples: Samples, placements: list[str]) -> None:
    print(f"\n{backend}: {len(samples.latencies['none'])} joins per mode")
    print(f"  {'worker / relay':15} {'p50':>10} {'p95':>10} {'mean':>10}   worker did")
    for label, values in samples.latencies.items():
        print(
            f"  {label:15} {ms(statistics.median(values))} {ms(p95(values))} "
            f"{ms(statistics.fmean(values))}   {samples.outcomes[label] or '-'}"
        )
    for placement in placements:
        up = samples.latencies[f"{placement} up"]
        for mode in ("down", "hang"):
            values = samples.latencies[f"{placement} {mode}"]
            p50_ratio = statistics.median(values) / statistics.median(up)
            mean_ratio = statistics.fmean(values) / statistics.fmean(up)
            print(
                f"  {placement} {mode}/up: p50 x{p50_ratio:.2f}  "
                f"p95 x{p95(values) / p95(up):.2f}  mean x{mean_ratio:.2f}"
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
        "--worker", nargs="+", choices=PLACEMENTS, default=list(PLACEMENTS), help="where it runs"
    )
    parser.add_argument("--serve-worker", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--postgres-server", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    # Each failed attempt is logged as a warning; thousands of them are noise here.
    logging.getLogger("application").setLevel(logging.ERROR)
    if args.serve_worker:
        await serve_worker(args.serve_worker[0], int(args.serve_worker[1]))
        return
    started = datetime.now(UTC)
    results = {backend: await measure(backend, args) for backend in args.backends}
    print(f"\njoin latency, SMTP up / down / hanging ({started:%Y-%m-%d %H:%M} UTC)")
    for backend, samples in results.items():
        report(backend, samples, args.worker)


if __name__ == "__main__":
    asyncio.run(main())
