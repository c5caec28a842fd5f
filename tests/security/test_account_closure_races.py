"""Closing an account while its joins are in flight leaves it holding nothing.

Eight joins of one user to eight events go out at once with the closure of that
account among them (`DELETE /users/me`, or an admin's `PATCH {"is_active":
false}`), through the real app on SQLite and on PostgreSQL. Whatever order the
database lets them run in, a closed account can no longer leave an event, so it
must hold no registration afterwards, and every event's counters must still
equal its rows. Ten rounds per database, as the interleavings differ each time.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import func, select

from adapters.sql.tables import events, registrations
from domain.users import Role
from tests.e2e.conftest import API, Api, Caller
from tests.security.conftest import Send, concurrently

ROUNDS = 10
EVENTS = 8
ACTIVE = ("confirmed", "waitlisted")


def join(caller: Caller, event_id: str) -> Send:
    def send(client: httpx.AsyncClient) -> Any:
        return client.post(f"{API}/events/{event_id}/registrations", headers=caller.headers)

    return send


def close_own_account(caller: Caller) -> Send:
    def send(client: httpx.AsyncClient) -> Any:
        return client.delete(f"{API}/users/me", headers=caller.headers)

    return send


def deactivate(admin: Caller, caller: Caller) -> Send:
    def send(client: httpx.AsyncClient) -> Any:
        return client.patch(
            f"{API}/users/{caller.user_id}", json={"is_active": False}, headers=admin.headers
        )

    return send


def holdings(api: Api, user_id: str) -> tuple[int, list[tuple[int, int, int, int]]]:
    """The user's active registrations, and per event: (attendee_count,
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
                    registrations.c.user_id == UUID(user_id), registrations.c.status.in_(ACTIVE)
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


@pytest.mark.parametrize("closer", ["self", "admin"])
async def test_joins_racing_a_closure_leave_the_account_holding_nothing(
    api: Api, closer: str
) -> None:
    organizer = await api.user(Role.ORGANIZER)
    ids = [(await api.published_event(organizer))["id"] for _ in range(EVENTS)]
    for _ in range(ROUNDS):
        user = await api.user()
        closing = (
            close_own_account(user) if closer == "self" else deactivate(await api.admin(), user)
        )
        joins = [join(user, event_id) for event_id in ids]
        responses = concurrently(api, [*joins[:4], closing, *joins[4:]])

        statuses = [response.status_code for response in responses]
        assert statuses[4] in (200, 204), responses[4].text
        # A join either happened before the closure (and was then released) or was refused.
        assert all(status in (201, 401) for status in statuses[:4] + statuses[5:]), statuses
        held, counters = holdings(api, user.user_id)
        assert held == 0, f"the closed account still holds {held} registrations"
        for attendees, confirmed, waiting, waitlisted in counters:
            assert (attendees, waiting) == (confirmed, waitlisted)
