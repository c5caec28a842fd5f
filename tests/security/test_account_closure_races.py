"""Closing or erasing an account while its joins are in flight leaves it holding nothing.

Eight joins of one user to eight events go out at once with the closure of that
account among them (an admin's `PATCH {"is_active": false}`) or its erasure
(`DELETE /users/me`, an admin's `DELETE /users/{id}`), through the real app on
SQLite and on PostgreSQL. Whatever order the database lets them run in, a closed
account can no longer leave an event, so it must hold no registration afterwards
(an erased one no row at all), and every event's counters must still equal its
rows. Ten rounds per database, as the interleavings differ each time.

Erasing an organizer while people join their events: each join either came
first, and its person is told of the cancellation, or is refused; no event is
left with a seat taken.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import func, select

from adapters.sql.tables import events, outbox, registrations
from domain.users import Role
from tests.e2e.conftest import API, Api, Caller
from tests.security.conftest import Send, concurrently

ROUNDS = 10
EVENTS = 8
ACTIVE = ("confirmed", "waitlisted")
ALL = (*ACTIVE, "cancelled")


def join(caller: Caller, event_id: str) -> Send:
    def send(client: httpx.AsyncClient) -> Any:
        return client.post(f"{API}/events/{event_id}/registrations", headers=caller.headers)

    return send


def erase_own_account(caller: Caller) -> Send:
    def send(client: httpx.AsyncClient) -> Any:
        return client.delete(f"{API}/users/me", headers=caller.headers)

    return send


def erase(admin: Caller, caller: Caller) -> Send:
    def send(client: httpx.AsyncClient) -> Any:
        return client.delete(f"{API}/users/{caller.user_id}", headers=admin.headers)

    return send


def deactivate(admin: Caller, caller: Caller) -> Send:
    def send(client: httpx.AsyncClient) -> Any:
        return client.patch(
            f"{API}/users/{caller.user_id}", json={"is_active": False}, headers=admin.headers
        )

    return send


def holdings(
    api: Api, user_id: str, statuses: tuple[str, ...] = ACTIVE
) -> tuple[int, list[tuple[int, int, int, int]]]:
    """The user's registrations in `statuses`, and per event: (attendee_count,
    confirmed rows, waitlist_count, waitlisted rows)."""
    engine = api.container.engine()

    async def read() -> tuple[int, list[tuple[int, int, int, int]]]:
        def rows(status: str) -> Any:
            return (
                select(func.count())
                .where(registrations.c.event_id == events.c.id, registrations.c.status == status)
                .scalar_subquery()
            )

        async with engine.connect() as connection:
            held = await connection.scalar(
                select(func.count()).where(
                    registrations.c.user_id == UUID(user_id),
                    registrations.c.status.in_(statuses),
                )
            )
            counters = (
                await connection.execute(
                    select(
                        events.c.attendee_count,
                        rows("confirmed"),
                        events.c.waitlist_count,
                        rows("waitlisted"),
                    )
                )
            ).all()
        return int(held or 0), [tuple(row) for row in counters]

    return api.run(read)


@pytest.mark.parametrize("closer", ["erase-self", "erase-by-admin", "deactivate"])
async def test_joins_racing_a_closure_leave_the_account_holding_nothing(
    api: Api, closer: str
) -> None:
    admin = await api.admin()
    organizer = await api.user(Role.ORGANIZER)
    ids = [(await api.published_event(organizer))["id"] for _ in range(EVENTS)]
    for _ in range(ROUNDS):
        user = await api.user()
        if closer == "erase-self":
            closing = erase_own_account(user)
        elif closer == "erase-by-admin":
            closing = erase(admin, user)
        else:
            closing = deactivate(admin, user)
        joins = [join(user, event_id) for event_id in ids]
        responses = concurrently(api, [*joins[:4], closing, *joins[4:]])

        statuses = [response.status_code for response in responses]
        assert statuses[4] in (200, 204), responses[4].text
        # A join either happened before the closure (and was then released) or was refused.
        assert all(status in (201, 401) for status in statuses[:4] + statuses[5:]), statuses
        erased = closer != "deactivate"
        held, counters = holdings(api, user.user_id, ALL if erased else ACTIVE)
        assert held == 0, f"the closed account still holds {held} registrations"
        for attendees, confirmed, waiting, waitlisted in counters:
            assert (attendees, waiting) == (confirmed, waitlisted)


async def test_joins_racing_an_organizers_erasure_are_told_or_refused(api: Api) -> None:
    admin = await api.admin()
    people = [await api.user(name=f"joiner{n}") for n in range(EVENTS)]
    for _ in range(ROUNDS // 2):
        organizer = await api.user(Role.ORGANIZER)
        ids = [(await api.published_event(organizer, capacity=2))["id"] for _ in range(2)]
        joins = [join(person, ids[n % 2]) for n, person in enumerate(people)]
        responses = concurrently(api, [*joins[:4], erase(admin, organizer), *joins[4:]])

        statuses = [response.status_code for response in responses]
        assert statuses[4] == 204, responses[4].text
        joined = statuses[:4] + statuses[5:]
        # Before the erasure: a seat or a ticket. After: the event is cancelled.
        assert all(status in (201, 409) for status in joined), statuses
        told = cancellations(api, ids)
        for person, status, event_id in zip(
            people, joined, [ids[n % 2] for n in range(EVENTS)], strict=True
        ):
            assert ((person.user_id, event_id) in told) is (status == 201), (status, told)
        for event_id in ids:
            assert (await api.get_event(event_id)).json()["status"] == "cancelled"
        _, counters = holdings(api, organizer.user_id)
        for attendees, confirmed, waiting, waitlisted in counters:
            assert (attendees, waiting) == (confirmed, waitlisted)


def cancellations(api: Api, event_ids: list[str]) -> set[tuple[str, str]]:
    """(recipient, event) of every cancellation notice queued for the events."""
    engine = api.container.engine()

    async def read() -> set[tuple[str, str]]:
        statement = select(outbox.c.recipient_id, outbox.c.event_id).where(
            outbox.c.kind == "event_cancelled",
            outbox.c.event_id.in_([UUID(event_id) for event_id in event_ids]),
        )
        async with engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        return {(str(recipient), str(event)) for recipient, event in rows}

    return api.run(read)
