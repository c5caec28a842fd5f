"""Two real `eventapi worker` processes on one PostgreSQL database send each of N
reminders exactly once, at their time, to a real SMTP server on loopback.

Real time (the workers are processes of their own): the seats are taken with a
one-hour reminder time for an event starting in an hour and a few seconds, so the
reminders fall due while both workers poll. Every wait is on a condition.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.tables import outbox
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from adapters.system_clock import SystemClock
from adapters.uuid7 import Uuid7Generator
from application.principal import Principal
from application.reminders import ReminderSchedule
from application.use_cases.register_for_event import RegisterForEvent, RegisterForEventCommand
from domain.users import Role
from tests.builders import a_user, an_event
from tests.mail_server import MailServer
from tests.security.processes import clean_environment

PEOPLE = 60
LEAD = timedelta(seconds=4)
DEADLINE_SECONDS = 90.0
STOP_SECONDS = 20.0


@pytest.fixture
def workers(
    postgres_url: str, relay: MailServer, tmp_path: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = clean_environment(
        ENV="test",
        DATABASE_URL=postgres_url,
        DATA_DIR=str(tmp_path / "data"),
        SECRET_KEY="w" * 48,
        SMTP_URL=relay.url,
        MAIL_FROM="eventapi <noreply@eventapi.test>",
        GEOCODER="off",
    )
    started: list[subprocess.Popen[bytes]] = []

    def start(number: int) -> subprocess.Popen[bytes]:
        with (tmp_path / f"worker-{number}.log").open("wb") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "entrypoints.cli", "worker", "--poll-interval", "0.05"],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    try:
        started.extend(start(number) for number in (1, 2))
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


async def pending(engine: AsyncEngine) -> int:
    statement = select(func.count()).select_from(outbox).where(outbox.c.status == "pending")
    async with engine.connect() as connection:
        return int((await connection.execute(statement)).scalar_one())


@pytest.mark.postgres
async def test_two_workers_send_every_reminder_exactly_once(
    postgres_engine: AsyncEngine,
    relay: MailServer,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    uow = SqlUnitOfWorkFactory(postgres_engine, reminders=ReminderSchedule(timedelta(hours=1)))
    organizer = a_user(role=Role.ORGANIZER)
    people = [a_user() for _ in range(PEOPLE)]
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1) + LEAD
    event = an_event(organizer, capacity=PEOPLE, starts_at=starts)
    async with uow() as work:
        await work.users.add(organizer)
        for person in people:
            await work.users.add(person)
        await work.events.add(event)
        await work.commit()
    register = RegisterForEvent(uow, SystemClock(), Uuid7Generator())
    for person in people:
        await register.execute(
            RegisterForEventCommand(
                actor=Principal(user_id=person.id, role=Role.ATTENDEE), event_id=event.id
            )
        )

    # Every confirmation and every reminder, then nothing left to do.
    await relay.wait_for(2 * PEOPLE, within=DEADLINE_SECONDS)
    deadline = time.monotonic() + DEADLINE_SECONDS
    while await pending(postgres_engine):
        assert time.monotonic() < deadline, "rows still pending"
        await asyncio.sleep(0.05)  # a poll's pace, not a synchronisation
    assert all(process.poll() is None for process in workers), "a worker died"

    reminders = [r for r in relay.received if r.message["X-Eventapi-Notification"] == "reminder"]
    assert sorted(r.recipients for r in reminders) == sorted(
        (str(person.email),) for person in people
    )
    assert len(relay.received) == 2 * PEOPLE
    assert set(relay.per_message_id().values()) == {1}
    # None went out before its time (the worker records when it sent each).
    statement = select(outbox.c.sent_at, outbox.c.attempts).where(outbox.c.kind == "reminder")
    async with postgres_engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    assert len(rows) == PEOPLE
    assert all(sent_at >= starts - timedelta(hours=1) for sent_at, _ in rows)
    assert {attempts for _, attempts in rows} == {1}
