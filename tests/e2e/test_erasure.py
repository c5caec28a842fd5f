"""Erasing an account over HTTP (contract v1.1, "Changed in v1.1"), on SQLite and
PostgreSQL: `DELETE /users/me` and an admin's `DELETE /users/{id}` leave a tombstone,
not a closed account."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import select, update

from adapters.sql.tables import events, outbox
from domain.users import ERASED_NAME, Role
from tests.e2e.conftest import API, PASSWORD, Api, Caller, assert_problem, in_days, rfc3339


def erase_me(api: Api, caller: Caller) -> Any:
    return api.client.delete(f"{API}/users/me", headers=caller.headers)


async def erase(api: Api, user: Caller) -> httpx.Response:
    admin = await api.admin()
    return await api.client.delete(f"{API}/users/{user.user_id}", headers=admin.headers)


def end(api: Api, event_id: str) -> None:
    """Time passes: the event is over (ended an hour ago)."""
    engine = api.container.engine()
    now = datetime.now(UTC)

    async def move() -> None:
        async with engine.begin() as connection:
            await connection.execute(
                update(events)
                .where(events.c.id == UUID(event_id))
                .values(starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=1))
            )

    api.run(move)


def queued(api: Api) -> list[tuple[str, str, str | None]]:
    """(kind, recipient_id, event_id) of every outbox row, oldest first."""
    engine = api.container.engine()

    async def read() -> list[tuple[str, str, str | None]]:
        statement = select(outbox.c.kind, outbox.c.recipient_id, outbox.c.event_id).order_by(
            outbox.c.id
        )
        async with engine.connect() as connection:
            rows = (await connection.execute(statement)).all()
        return [(k, str(r), None if e is None else str(e)) for k, r, e in rows]

    return api.run(read)


async def attendees(api: Api, owner: Caller, event_id: str) -> list[dict[str, Any]]:
    response = await api.client.get(f"{API}/events/{event_id}/attendees", headers=owner.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_an_erased_account_is_gone_and_its_address_free(api: Api) -> None:
    admin = await api.admin()
    me = await api.user(name="leaving")

    assert (await erase_me(api, me)).status_code == 204

    assert_problem(await api.client.get(f"{API}/users/{me.user_id}", headers=admin.headers), 404)
    listed = await api.client.get(f"{API}/users", params={"limit": 100}, headers=admin.headers)
    assert me.user_id not in [user["id"] for user in listed.json()["items"]]
    assert_problem(await api.client.get(f"{API}/users/me", headers=me.headers), 401)
    signed_in = await api.token(grant_type="password", username=me.email, password=PASSWORD)
    assert signed_in.json()["error"] == "invalid_grant"
    refreshed = await api.token(grant_type="refresh_token", refresh_token=me.refresh_token)
    assert refreshed.json()["error"] == "invalid_grant"
    for change in ({"is_active": True}, {"full_name": "Back again"}):
        revived = await api.client.patch(
            f"{API}/users/{me.user_id}", json=change, headers=admin.headers
        )
        assert_problem(revived, 404)
    assert_problem(await erase(api, me), 404)
    assert all(recipient != me.user_id for _, recipient, _ in queued(api))

    again = await api.register(me.email, full_name="Leaving Again")
    assert again.status_code == 201, again.text
    assert again.json()["id"] != me.user_id
    back = await api.sign_in("back", me.email)
    assert (await api.client.get(f"{API}/users/me", headers=back.headers)).status_code == 200


async def test_erasure_releases_upcoming_seats_and_keeps_past_ones_as_counts(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER)
    me = await api.user(name="leaving")
    waiting = await api.user(name="waiting")
    other = await api.user(name="other")
    upcoming = await api.published_event(organizer, capacity=1, waitlist_enabled=True)
    await api.join(me, upcoming["id"])
    await api.join(waiting, upcoming["id"])
    past = await api.published_event(
        organizer, starts_at=rfc3339(in_days(0, hours=-1)), ends_at=rfc3339(in_days(0, hours=2))
    )
    await api.join(me, past["id"])
    await api.join(other, past["id"])
    end(api, past["id"])

    assert (await erase(api, me)).status_code == 204

    [promoted] = await attendees(api, organizer, upcoming["id"])
    assert (promoted["user_id"], promoted["status"]) == (waiting.user_id, "confirmed")
    assert ("registration_promoted", waiting.user_id, upcoming["id"]) in queued(api)
    # The past event still counts two attendees; only the one who remains is named.
    kept = (await api.get_event(past["id"], organizer)).json()
    assert kept["attendee_count"] == 2
    assert [a["user_id"] for a in await attendees(api, organizer, past["id"])] == [other.user_id]
    exported = await api.client.get(
        f"{API}/events/{past['id']}/attendees",
        headers={**organizer.headers, "Accept": "text/csv"},
    )
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert len(rows) == 2  # the header and the one who remains
    assert me.email not in exported.text
    mine = await api.client.get(f"{API}/users/me/registrations", headers=other.headers)
    assert [item["event"]["id"] for item in mine.json()["items"]] == [past["id"]]


async def test_erasing_an_organizer_cancels_their_upcoming_events(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER, name="organizing")
    seated = await api.user(name="seated")
    waiting = await api.user(name="waiting")
    upcoming = await api.published_event(organizer, capacity=1, waitlist_enabled=True)
    await api.join(seated, upcoming["id"])
    await api.join(waiting, upcoming["id"])
    draft = await api.create_event(organizer)
    past = await api.published_event(
        organizer, starts_at=rfc3339(in_days(0, hours=-1)), ends_at=rfc3339(in_days(0, hours=2))
    )
    await api.join(seated, past["id"])
    end(api, past["id"])

    assert (await erase(api, organizer)).status_code == 204

    cancelled = (await api.get_event(upcoming["id"])).json()
    assert cancelled["status"] == "cancelled"
    assert (cancelled["attendee_count"], cancelled["waitlist_count"]) == (0, 0)
    told = {(kind, recipient) for kind, recipient, event in queued(api) if event == upcoming["id"]}
    assert {("event_cancelled", seated.user_id), ("event_cancelled", waiting.user_id)} <= told
    assert_problem(await api.get_event(draft["id"]), 404)
    kept = (await api.get_event(past["id"])).json()
    assert kept["status"] == "published"
    assert kept["attendee_count"] == 1
    assert kept["organizer"] == {"id": organizer.user_id, "full_name": ERASED_NAME}
    assert all(recipient != organizer.user_id for _, recipient, _ in queued(api))


async def test_deactivating_is_still_reversible_and_not_an_erasure(api: Api) -> None:
    admin = await api.admin()
    organizer = await api.user(Role.ORGANIZER)
    event = await api.published_event(organizer)

    closed = await api.client.patch(
        f"{API}/users/{organizer.user_id}", json={"is_active": False}, headers=admin.headers
    )
    assert closed.status_code == 200, closed.text

    shown = await api.client.get(f"{API}/users/{organizer.user_id}", headers=admin.headers)
    assert (shown.json()["email"], shown.json()["is_active"]) == (organizer.email, False)
    assert (await api.get_event(event["id"])).json()["status"] == "published"
    reopened = await api.client.patch(
        f"{API}/users/{organizer.user_id}", json={"is_active": True}, headers=admin.headers
    )
    assert reopened.json()["is_active"] is True
    assert (await erase(api, organizer)).status_code == 204
    assert (await api.get_event(event["id"])).json()["status"] == "cancelled"
