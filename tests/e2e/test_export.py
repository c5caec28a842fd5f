"""`GET /users/me/export`: everything held about the caller, streamed, over HTTP on
both databases: every section, nobody else's data, no secrets, valid JSON that
decodes as the documented schema, and a long history read in keyset batches."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from dependency_injector import providers
from sqlalchemy import insert as insert_into
from sqlalchemy import select

from adapters.sql.mapping import event_values, registration_values, user_values
from adapters.sql.tables import events as events_table
from adapters.sql.tables import refresh_tokens, sessions, users
from adapters.sql.tables import registrations as registrations_table
from application.ports.personal_data import (
    EXPORT_BATCH_SIZE,
    NotificationRecord,
    PersonalData,
)
from application.ports.queries import EventView, RegistrationView
from domain.users import Role, User
from entrypoints.http.schemas.exports import PersonalDataExportOut
from tests.builders import a_registration, a_user, an_event
from tests.e2e.conftest import API, PASSWORD, Api, Caller, assert_problem

EXPORT = f"{API}/users/me/export"
KEYS = [
    "exported_at",
    "profile",
    "registrations",
    "events_organised",
    "notifications",
    "webhooks",
    "audit_events",
]
T = TypeVar("T")


async def export(api: Api, caller: Caller) -> tuple[dict[str, Any], str]:
    before = datetime.now(UTC).date()
    response = await api.client.get(EXPORT, headers=caller.headers)
    after = datetime.now(UTC).date()
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"] in {  # (either side of midnight)
        f'attachment; filename="eventapi-export-{day.isoformat()}.json"' for day in (before, after)
    }
    assert response.headers["cache-control"] == "no-store"
    # Streamed: sent as it is written, with no length known up front.
    assert "content-length" not in response.headers
    # Valid JSON, of the documented shape, with its keys in the documented order.
    msgspec.json.decode(response.content, type=PersonalDataExportOut)
    body: dict[str, Any] = json.loads(response.content)
    assert list(body) == KEYS
    return body, response.text


async def test_the_export_holds_the_callers_registrations_events_and_notifications(
    api: Api,
) -> None:
    organizer = await api.user(Role.ORGANIZER, name="olga")
    ann = await api.user(name="ann")
    otto = await api.user(name="otto")
    meetup = await api.published_event(organizer, title="Python meetup")
    small = await api.published_event(
        organizer, title="Tiny workshop", capacity=1, waitlist_enabled=True
    )
    draft = await api.create_event(organizer, title="Still a draft")
    cancelled = await api.published_event(organizer, title="Called off")
    cancel = await api.client.post(
        f"{API}/events/{cancelled['id']}/cancel", json={"reason": "rain"}, headers=organizer.headers
    )
    assert cancel.status_code == 200, cancel.text
    otto_seat = await api.join(otto, small["id"])
    ann_meetup = await api.join(ann, meetup["id"])
    ann_waiting = await api.join(ann, small["id"])
    otto_meetup = await api.join(otto, meetup["id"])

    body, text = await export(api, ann)

    assert body["profile"]["id"] == ann.user_id
    assert body["profile"]["email"] == ann.email
    registrations = {r["id"]: r for r in body["registrations"]}
    assert list(registrations) == [ann_meetup["id"], ann_waiting["id"]]  # oldest first
    assert registrations[ann_meetup["id"]]["event"]["title"] == "Python meetup"
    assert registrations[ann_meetup["id"]]["event"]["starts_at"] == meetup["starts_at"]
    assert registrations[ann_meetup["id"]]["status"] == "confirmed"
    assert registrations[ann_waiting["id"]]["status"] == "waitlisted"
    assert registrations[ann_waiting["id"]]["waitlist_position"] == 1
    assert all(r["created_at"] for r in body["registrations"])
    assert body["events_organised"] == []
    kinds = [n["kind"] for n in body["notifications"]]
    assert kinds[0] == "welcome"
    assert {"registration_confirmed", "registration_waitlisted"} <= set(kinds)
    assert all(n["status"] == "pending" for n in body["notifications"])  # no worker here
    joined = next(n for n in body["notifications"] if n["kind"] == "registration_confirmed")
    assert (joined["event_id"], joined["event_title"]) == (meetup["id"], "Python meetup")
    assert joined["due_at"] is None
    # The reminder of her seat, with the time it is due (a day before the start).
    (reminder,) = [n for n in body["notifications"] if n["kind"] == "reminder"]
    starts = datetime.fromisoformat(meetup["starts_at"])
    assert datetime.fromisoformat(reminder["due_at"]) == starts - timedelta(days=1)
    assert body["webhooks"] == []
    assert body["audit_events"] == []  # joining and cancelling are not audited for ann
    # Nobody else's data: not Otto's account, registrations or seat.
    for foreign in (otto.user_id, otto.email, otto_seat["id"], otto_meetup["id"]):
        assert foreign not in text

    organised, _ = await export(api, organizer)

    assert {e["id"]: e["status"] for e in organised["events_organised"]} == {
        meetup["id"]: "published",
        small["id"]: "published",
        draft["id"]: "draft",
        cancelled["id"]: "cancelled",
    }
    assert organised["registrations"] == []
    assert ann.email not in json.dumps(organised)  # attendees are not the organizer's data


async def test_the_export_holds_the_audit_entries_by_and_about_the_caller(api: Api) -> None:
    admin = await api.user(Role.ADMIN, name="ada")
    ann = await api.user(name="ann")
    otto = await api.user(name="otto")
    changed = await api.client.patch(
        f"{API}/users/me",
        json={"password": "a brand new passphrase", "current_password": PASSWORD},
        headers=ann.headers,
    )
    assert changed.status_code == 200, changed.text
    for user in (ann, otto):
        promoted = await api.client.patch(
            f"{API}/users/{user.user_id}", json={"role": "organizer"}, headers=admin.headers
        )
        assert promoted.status_code == 200, promoted.text

    body, text = await export(api, ann)

    entries = [(e["action"], e["actor_id"], e["subject_id"]) for e in body["audit_events"]]
    assert entries == [
        ("user.password_changed", ann.user_id, ann.user_id),  # by ann
        ("user.role_changed", admin.user_id, ann.user_id),  # about ann, by someone else
    ]
    assert otto.user_id not in text


async def test_the_export_holds_no_secret(api: Api) -> None:
    ann = await api.user(name="ann")
    again = await api.sign_in("ann-again", ann.email)  # a second session

    body, text = await export(api, ann)

    engine = api.container.engine()

    async def secrets() -> list[str]:
        async with engine.connect() as connection:
            hashes = (
                await connection.execute(
                    select(users.c.password_hash).where(users.c.id == UUID(ann.user_id))
                )
            ).scalars()
            digests = (await connection.execute(select(sessions.c.current_token_digest))).scalars()
            spent = (await connection.execute(select(refresh_tokens.c.digest))).scalars()
            return [*hashes, *digests, *spent]

    stored = api.run(secrets)
    assert len(stored) >= 3  # the hash and both sessions' digests
    for secret in [*stored, ann.password, ann.access_token, ann.refresh_token, again.refresh_token]:
        assert secret not in text
    assert "$2b$" not in text

    def keys(node: object) -> set[str]:
        if isinstance(node, dict):
            return set(node) | {k for value in node.values() for k in keys(value)}
        if isinstance(node, list):
            return {k for value in node for k in keys(value)}
        return set()

    assert not {k for k in keys(body) if re.search("password|token|secret|digest|hash", k)}


async def test_signing_in_is_needed(api: Api) -> None:
    assert_problem(await api.client.get(EXPORT), 401)


class CountingPersonalData(PersonalData):
    """The real adapter, with the size of every batch it hands out recorded."""

    def __init__(self, inner: PersonalData) -> None:
        self._inner = inner
        self.batches: dict[str, list[int]] = defaultdict(list)

    async def _counted(self, name: str, source: AsyncIterator[list[T]]) -> AsyncIterator[list[T]]:
        async for batch in source:
            self.batches[name].append(len(batch))
            yield batch

    def registrations(
        self, user_id: UUID, *, batch_size: int = EXPORT_BATCH_SIZE
    ) -> AsyncIterator[list[RegistrationView]]:
        return self._counted(
            "registrations", self._inner.registrations(user_id, batch_size=batch_size)
        )

    def organised_events(
        self, user_id: UUID, *, batch_size: int = EXPORT_BATCH_SIZE
    ) -> AsyncIterator[list[EventView]]:
        return self._counted(
            "organised_events", self._inner.organised_events(user_id, batch_size=batch_size)
        )

    def notifications(
        self, user_id: UUID, *, batch_size: int = EXPORT_BATCH_SIZE
    ) -> AsyncIterator[list[NotificationRecord]]:
        return self._counted(
            "notifications", self._inner.notifications(user_id, batch_size=batch_size)
        )


async def test_a_long_history_is_read_and_written_in_batches(api: Api) -> None:
    ann = await api.user(name="ann")
    count = 5_000
    organizer = a_user(role=Role.ORGANIZER, name="Busy Organizer")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    events = [
        an_event(organizer, title=f"Session {n}", starts_at=start + timedelta(hours=n))
        for n in range(count)
    ]
    me = user_of(api, ann)
    registrations = [
        a_registration(event, me, at=start - timedelta(days=1) + timedelta(seconds=n))
        for n, event in enumerate(events)
    ]
    engine = api.container.engine()

    async def insert() -> None:
        # The repositories' own column mapping, as one multi-row INSERT per table.
        async with engine.begin() as connection:
            await connection.execute(insert_into(users), [user_values(organizer)])
            await connection.execute(insert_into(events_table), [event_values(e) for e in events])
            await connection.execute(
                insert_into(registrations_table), [registration_values(r) for r in registrations]
            )

    api.run(insert)
    spy = CountingPersonalData(api.container.personal_data())
    api.container.personal_data.override(providers.Object(spy))
    try:
        body, _ = await export(api, ann)
    finally:
        api.container.personal_data.reset_override()

    assert [r["id"] for r in body["registrations"]] == [str(r.id) for r in registrations]
    assert body["registrations"][-1]["event"]["title"] == f"Session {count - 1}"
    # Read in keyset batches of EXPORT_BATCH_SIZE, never all at once.
    assert spy.batches["registrations"] == [EXPORT_BATCH_SIZE] * (count // EXPORT_BATCH_SIZE)
    assert spy.batches["notifications"] == [1]  # the welcome
    assert spy.batches["organised_events"] == []


def user_of(api: Api, caller: Caller) -> User:
    """The caller's User aggregate, read through a unit of work."""
    unit_of_work = api.container.uow()

    async def read() -> User | None:
        async with unit_of_work(read_only=True) as uow:
            return await uow.users.get(UUID(caller.user_id))

    user = api.run(read)
    assert user is not None
    return user
