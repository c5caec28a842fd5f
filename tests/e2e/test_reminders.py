"""Reminders end to end, on SQLite and PostgreSQL: joins, a departure, a cancelled and
a moved event over HTTP; delivery by real `eventapi worker` processes to a real SMTP
server on loopback. The first worker is stopped while the reminders wait for their
time and a second one, started later, sends each exactly once.

Real time, not a fake clock (the worker is another process): with
EVENTAPI_REMINDER_BEFORE=1h an event starting in an hour and LEAD seconds has its
reminders due in LEAD seconds. Every wait is on a condition, with a deadline.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import icalendar
import pytest
from sqlalchemy import select

from adapters.icalendar_invites import uid_of
from adapters.sql.tables import outbox
from domain.users import Role
from tests.e2e.conftest import API, Api, rfc3339
from tests.mail_server import MailServer, Received
from tests.security.processes import clean_environment

#: Seconds from the joins to the reminders' due time: room for the scene to be set
#: and the first worker to be stopped before it.
LEAD = 20
DEADLINE_SECONDS = 60.0
POLL_SECONDS = 0.05
STOP_SECONDS = 20.0
REMINDER = "reminder"


@pytest.fixture
def settings_overrides() -> Mapping[str, str]:
    return {"EVENTAPI_REMINDER_BEFORE": "1h"}


@pytest.fixture
async def relay() -> AsyncIterator[MailServer]:
    server = MailServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class Worker:
    """`eventapi worker` as a process of its own, on the test's database and relay."""

    def __init__(self, name: str, database_url: str, relay: MailServer, workdir: Path) -> None:
        env = clean_environment(
            ENV="test",
            DATABASE_URL=database_url,
            DATA_DIR=str(workdir / "data"),
            SECRET_KEY="x" * 48,
            SMTP_URL=relay.url,
            MAIL_FROM="eventapi <noreply@eventapi.test>",
            REMINDER_BEFORE="1h",
            GEOCODER="off",
        )
        self.log = workdir / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "entrypoints.cli", "worker", "--poll-interval", "0.05"],
                cwd=workdir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def stop(self) -> None:
        """SIGTERM and wait (off the loop: the relay may still be talking to it)."""
        await asyncio.to_thread(self._stop)
        assert self.process.returncode == 0, self.log.read_text(errors="replace")[-4000:]

    def _stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await check():
        assert time.monotonic() < deadline, f"no {what} within {DEADLINE_SECONDS}s"
        await asyncio.sleep(POLL_SECONDS)  # a poll's pace, not a synchronisation


def kinds(relay: MailServer, kind: str) -> list[Received]:
    return [r for r in relay.received if r.message["X-Eventapi-Notification"] == kind]


def outbox_rows(api: Api) -> list[dict[str, Any]]:
    engine = api.container.engine()

    async def read() -> list[dict[str, Any]]:
        async with engine.connect() as connection:
            rows = await connection.execute(select(outbox).order_by(outbox.c.id))
            return [dict(row) for row in rows.mappings()]

    return api.run(read)


def window(starts_at: datetime) -> dict[str, str]:
    return {"starts_at": rfc3339(starts_at), "ends_at": rfc3339(starts_at + timedelta(hours=2))}


async def test_reminders_go_out_once_at_their_time_through_a_worker_restart(
    api: Api, database: tuple[str, str], relay: MailServer, tmp_path: Path
) -> None:
    organizer = await api.user(Role.ORGANIZER)
    ana, ben, cleo, dan = [await api.user(name=name) for name in ("ana", "ben", "cleo", "dan")]
    first = Worker("worker-1", database[1], relay, tmp_path)
    try:
        # Up and working (the welcome mails are out) before the clock starts.
        await relay.wait_for(5, within=DEADLINE_SECONDS)
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1, seconds=LEAD)
        due = starts - timedelta(hours=1)
        event = await api.published_event(organizer, title="Reminded evening", **window(starts))
        cancelled = await api.published_event(organizer, title="Called off", **window(starts))
        moved = await api.published_event(
            organizer, title="Moved forward", **window(starts + timedelta(days=2))
        )
        seats = {person.user_id: await api.join(person, event["id"]) for person in (ana, ben, cleo)}
        await api.join(ana, cancelled["id"])
        await api.join(dan, moved["id"])
        left = await api.client.delete(
            f"{API}/events/{event['id']}/registrations/me", headers=cleo.headers
        )
        assert left.status_code == 204, left.text
        called_off = await api.client.post(
            f"{API}/events/{cancelled['id']}/cancel",
            json={"reason": "Snow"},
            headers=organizer.headers,
        )
        assert called_off.status_code == 200, called_off.text
        changed = await api.client.patch(
            f"{API}/events/{moved['id']}", json=window(starts), headers=organizer.headers
        )
        assert changed.status_code == 200, changed.text

        # The first worker delivers everything that is due (the last of it: the
        # change notice) while the reminders wait for their time ...
        async def changes_sent() -> bool:
            return len(kinds(relay, "event_changed")) == 1

        await until(changes_sent, "change notice")
        await first.stop()
    finally:
        await asyncio.to_thread(first._stop)
    assert datetime.now(UTC) < due, "the scene took longer than LEAD: raise LEAD"
    reminders = [row for row in outbox_rows(api) if row["kind"] == REMINDER]
    assert sorted((str(r["recipient_id"]), str(r["event_id"])) for r in reminders) == sorted(
        [(ana.user_id, event["id"]), (ben.user_id, event["id"]), (dan.user_id, moved["id"])]
    )
    assert {(r["status"], r["attempts"], r["due_at"]) for r in reminders} == {("pending", 0, due)}
    assert kinds(relay, REMINDER) == []

    # ... and a second worker, started later, sends each exactly once.
    second = Worker("worker-2", database[1], relay, tmp_path)
    try:

        async def all_settled() -> bool:
            return all(row["status"] != "pending" for row in outbox_rows(api))

        await relay.wait_for(len(relay.received) + 3, within=LEAD + DEADLINE_SECONDS)
        await until(all_settled, "settled outbox")
    finally:
        await second.stop()

    sent = kinds(relay, REMINDER)
    assert sorted(r.recipients for r in sent) == sorted([(ana.email,), (ben.email,), (dan.email,)])
    assert set(relay.per_message_id().values()) == {1}
    assert {row["status"] for row in outbox_rows(api) if row["kind"] == REMINDER} == {"sent"}
    (mail,) = [r.message for r in sent if r.recipients == (ana.email,)]
    assert mail["Subject"] == "Starting soon: Reminded evening"
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and "starts soon" in text.get_content()
    assert seats[ana.user_id]["ticket_code"] in text.get_content()  # the ticket, for the door
    assert html is not None and "<strong>Reminded evening</strong>" in html.get_content()
    (invite,) = [part for part in mail.iter_attachments() if part.get_filename() == "invite.ics"]
    calendar = icalendar.Calendar.from_ical(invite.get_content())
    (entry,) = calendar.walk("VEVENT")
    assert str(entry["UID"]) == uid_of(UUID(event["id"]))
    assert entry.decoded("DTSTART") == starts
