"""`/api/v1/audit-events`: what admins read of the audit log, over HTTP on both databases.

Each audited action is done through the API and then found in the log with the
right actor, subject and client address; a change that rolls back leaves no
entry; nothing secret or personal is ever in an entry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from domain.users import Role
from tests.e2e.conftest import API, PASSWORD, Api, Caller, assert_problem, rfc3339

NEW_PASSWORD = "an entirely different passphrase"
#: The address the test client connects from, as the rate limits and the log see it.
TEST_CLIENT = "testclient"
AUDIT = f"{API}/audit-events"


async def audit(api: Api, **params: Any) -> list[dict[str, Any]]:
    """The admin's first page (newest first)."""
    admin = await api.admin()
    response = await api.client.get(AUDIT, params=params, headers=admin.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def entries_about(api: Api, subject_id: str) -> list[tuple[str, str | None]]:
    return [(e["action"], e["actor_id"]) for e in await audit(api, subject_id=subject_id)]


# -- what is recorded ------------------------------------------------------------------------


async def test_role_and_active_changes_name_the_admin_the_account_and_the_address(
    api: Api,
) -> None:
    admin = await api.admin()
    person = await api.user(name="person")
    for change in ({"role": "organizer"}, {"is_active": False}, {"is_active": True}):
        response = await api.client.patch(
            f"{API}/users/{person.user_id}", json=change, headers=admin.headers
        )
        assert response.status_code == 200, response.text
    # Changing nothing records nothing.
    same = await api.client.patch(
        f"{API}/users/{person.user_id}", json={"role": "organizer"}, headers=admin.headers
    )
    assert same.status_code == 200

    entries = await audit(api, subject_id=person.user_id)

    assert [e["action"] for e in entries] == [
        "user.activated",
        "user.deactivated",
        "user.role_changed",
    ]
    for entry in entries:
        assert entry["actor_id"] == admin.user_id
        assert entry["subject_type"] == "user"
        assert entry["subject_id"] == person.user_id
        assert entry["ip"] == TEST_CLIENT
    assert entries[2]["details"] == {"from": "attendee", "to": "organizer"}
    assert entries[0]["details"] == entries[1]["details"] == {}
    assert entries[0]["at"] >= entries[1]["at"] >= entries[2]["at"]


async def test_publishing_cancelling_and_deleting_events_are_recorded(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, "owner")
    cancelled = await api.published_event(owner)
    deleted = await api.published_event(owner)
    draft = await api.create_event(owner)  # created, never published: not audited
    response = await api.client.post(
        f"{API}/events/{cancelled['id']}/cancel",
        json={"reason": "The speaker is ill"},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text
    response = await api.client.delete(f"{API}/events/{deleted['id']}", headers=owner.headers)
    assert response.status_code == 204, response.text

    assert await entries_about(api, cancelled["id"]) == [
        ("event.cancelled", owner.user_id),
        ("event.published", owner.user_id),
    ]
    assert await entries_about(api, deleted["id"]) == [
        ("event.deleted", owner.user_id),
        ("event.published", owner.user_id),
    ]
    assert await entries_about(api, draft["id"]) == []
    cancelling = (await audit(api, action="event.cancelled"))[0]
    assert cancelling["subject_type"] == "event"
    assert cancelling["ip"] == TEST_CLIENT
    assert cancelling["details"] == {}  # the reason is the organizer's free text: not kept


async def test_removing_an_attendee_is_recorded_leaving_is_not(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, "owner")
    removed, leaving = await api.user(name="removed"), await api.user(name="leaving")
    event = await api.published_event(owner)
    registration = await api.join(removed, event["id"])
    await api.join(leaving, event["id"])

    response = await api.client.delete(
        f"{API}/events/{event['id']}/registrations/{registration['id']}", headers=owner.headers
    )
    assert response.status_code == 204, response.text
    response = await api.client.delete(
        f"{API}/events/{event['id']}/registrations/me", headers=leaving.headers
    )
    assert response.status_code == 204, response.text

    [entry] = await audit(api, action="attendee.removed")
    assert entry["actor_id"] == owner.user_id
    assert (entry["subject_type"], entry["subject_id"]) == ("user", removed.user_id)
    assert entry["details"] == {"event_id": event["id"], "registration_id": registration["id"]}
    assert await entries_about(api, leaving.user_id) == []


async def test_a_password_change_is_recorded_without_the_password(api: Api) -> None:
    person = await api.user(name="person")
    response = await api.client.patch(
        f"{API}/users/me",
        json={"password": NEW_PASSWORD, "current_password": PASSWORD},
        headers=person.headers,
    )
    assert response.status_code == 200, response.text

    [entry] = await audit(api, subject_id=person.user_id)
    assert entry["action"] == "user.password_changed"
    assert entry["actor_id"] == person.user_id
    assert entry["ip"] == TEST_CLIENT
    assert entry["details"] == {}


async def test_sign_in_failures_name_the_account_if_any_never_the_address(api: Api) -> None:
    person = await api.user(name="person")
    unknown = api.email("nobody")
    wrong = await api.token(grant_type="password", username=person.email, password="wrong!")
    assert wrong.status_code == 400  # OAuth: invalid_grant
    nobody = await api.token(grant_type="password", username=unknown, password=PASSWORD)
    assert nobody.status_code == 400

    entries = await audit(api, action="auth.sign_in_failed")

    assert [(e["subject_type"], e["subject_id"], e["details"]) for e in entries] == [
        (None, None, {"reason": "unknown_account"}),
        ("user", person.user_id, {"reason": "wrong_password"}),
    ]
    assert all(e["actor_id"] is None and e["ip"] == TEST_CLIENT for e in entries)
    listing = (await api.client.get(AUDIT, headers=(await api.admin()).headers)).text.casefold()
    for personal in (unknown, person.email, "wrong!"):
        assert personal.casefold() not in listing


@pytest.mark.parametrize(
    "settings_overrides",
    [{"EVENTAPI_RATE_LIMITS": "on", "EVENTAPI_RATE_LIMIT_PASSWORD_CHECKS": "2/900"}],
)
async def test_a_locked_out_sign_in_is_recorded(api: Api) -> None:
    person = await api.user(name="person")  # its sign-in spent one check
    wrong = await api.token(grant_type="password", username=person.email, password="wrong!")
    assert wrong.status_code == 400  # OAuth: invalid_grant
    locked = await api.token(grant_type="password", username=person.email, password=PASSWORD)
    assert locked.status_code == 429

    [entry] = await audit(api, action="auth.locked_out")
    assert (entry["subject_type"], entry["subject_id"]) == ("user", person.user_id)
    assert entry["actor_id"] is None
    assert int(entry["details"]["retry_after_seconds"]) > 0


async def test_no_entry_holds_a_password_a_token_an_address_or_a_name(api: Api) -> None:
    admin = await api.admin()
    owner = await api.user(Role.ORGANIZER, "owner")
    person = await api.user(name="person")
    event = await api.published_event(owner)
    registration = await api.join(person, event["id"])
    steps = [
        api.client.patch(
            f"{API}/users/me",
            json={"password": NEW_PASSWORD, "current_password": PASSWORD},
            headers=person.headers,
        ),
        api.token(grant_type="password", username=owner.email, password=NEW_PASSWORD),
        api.client.delete(
            f"{API}/events/{event['id']}/registrations/{registration['id']}",
            headers=owner.headers,
        ),
        api.client.post(f"{API}/events/{event['id']}/cancel", headers=owner.headers),
        api.client.patch(
            f"{API}/users/{person.user_id}", json={"is_active": False}, headers=admin.headers
        ),
    ]
    for step in steps:
        assert (await step).status_code < 500

    listing = await api.client.get(AUDIT, params={"limit": 100}, headers=admin.headers)
    body = listing.text
    assert len(listing.json()["items"]) >= 6
    secrets = [PASSWORD, NEW_PASSWORD, admin.access_token, owner.refresh_token]
    personal = [person.email, owner.email, "Person", "Owner", "Admin"]
    for value in secrets + personal:
        assert value not in body


@pytest.mark.server_errors_expected
async def test_a_change_that_rolls_back_leaves_no_entry(api: Api) -> None:
    """The cancellation is written (and with it its entry), then releasing the
    registrations fails: the whole transaction goes, the entry with it."""
    owner = await api.user(Role.ORGANIZER, "owner")
    event = await api.published_event(owner)
    await api.join(await api.user(name="attendee"), event["id"])
    run_sql(api, REFUSE_UPDATES[api.database])
    try:
        response = await api.client.post(
            f"{API}/events/{event['id']}/cancel", headers=owner.headers
        )
    finally:
        run_sql(api, ALLOW_UPDATES[api.database])

    assert response.status_code >= 500
    assert await entries_about(api, event["id"]) == [("event.published", owner.user_id)]
    assert (await api.get_event(event["id"])).json()["status"] == "published"


REFUSE_UPDATES = {
    "sqlite": [
        "CREATE TRIGGER refuse_updates BEFORE UPDATE ON registrations "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    ],
    "postgres": [
        "CREATE FUNCTION refuse_updates() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
        "CREATE TRIGGER refuse_updates BEFORE UPDATE ON registrations "
        "FOR EACH ROW EXECUTE FUNCTION refuse_updates()",
    ],
}
ALLOW_UPDATES = {
    "sqlite": ["DROP TRIGGER refuse_updates"],
    "postgres": [
        "DROP TRIGGER refuse_updates ON registrations",
        "DROP FUNCTION refuse_updates()",
    ],
}


def run_sql(api: Api, statements: list[str]) -> None:
    """On the app's loop, where its engine's connections live."""

    async def run() -> None:
        async with api.container.engine().begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))

    api.run(run)


# -- reading the log ---------------------------------------------------------------------------


async def test_pages_run_newest_first_and_filters_combine(api: Api) -> None:
    admin = await api.admin()
    people = [await api.user(name=f"p{n}") for n in range(3)]
    for person in people:
        for change in ({"is_active": False}, {"is_active": True}):
            response = await api.client.patch(
                f"{API}/users/{person.user_id}", json=change, headers=admin.headers
            )
            assert response.status_code == 200

    everything = await all_pages(api, admin, limit=1, actor_id=admin.user_id)
    assert len(everything) == 6
    assert len({e["id"] for e in everything}) == 6
    moments = [(e["at"], e["id"]) for e in everything]
    assert moments == sorted(moments, reverse=True)

    found = await audit(api, actor_id=admin.user_id, action="user.deactivated")
    assert sorted(e["subject_id"] for e in found) == sorted(p.user_id for p in people)
    one = await audit(api, subject_id=people[1].user_id, action="user.activated")
    assert [e["subject_id"] for e in one] == [people[1].user_id]
    assert await audit(api, actor_id=people[0].user_id) == []

    now = datetime.now(UTC)
    later = rfc3339(now + timedelta(days=1))
    earlier = rfc3339(now - timedelta(days=1))
    assert len(await audit(api, since=earlier, actor_id=admin.user_id)) == 6
    assert await audit(api, since=later) == []
    assert await audit(api, until=earlier) == []
    assert len(await audit(api, since=earlier, until=later, actor_id=admin.user_id)) == 6


async def all_pages(api: Api, caller: Caller, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await api.client.get(AUDIT, params=query, headers=caller.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the listing never ended")


@pytest.mark.parametrize(
    "params",
    [
        {"actor_id": "not-a-uuid"},
        {"subject_id": "42"},
        {"action": "DROP TABLE"},
        {"action": "x" * 65},
        {"since": "yesterday"},
        {"until": "2030-13-01"},
        {"since": "2030-05-02", "until": "2030-05-01"},
        {"limit": "0"},
        {"limit": "101"},
        {"cursor": "forged.cursor"},
    ],
)
async def test_bad_filters_are_400_problems(api: Api, params: dict[str, str]) -> None:
    admin = await api.admin()
    response = await api.client.get(AUDIT, params=params, headers=admin.headers)
    assert_problem(response, 400)


async def test_a_cursor_only_fits_the_filters_it_was_made_for(api: Api) -> None:
    admin = await api.admin()
    for _ in range(2):
        person = await api.user()
        await api.client.patch(
            f"{API}/users/{person.user_id}", json={"is_active": False}, headers=admin.headers
        )
    first = await api.client.get(AUDIT, params={"limit": 1}, headers=admin.headers)
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    response = await api.client.get(
        AUDIT,
        params={"limit": 1, "cursor": cursor, "action": "user.deactivated"},
        headers=admin.headers,
    )
    assert_problem(response, 400)


async def test_only_admins_read_the_log_and_nobody_changes_it(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER)
    assert_problem(await api.client.get(AUDIT), 401)
    assert_problem(await api.client.get(AUDIT, headers=organizer.headers), 403)
    admin = await api.admin()
    [entry] = await audit(api, action="user.role_changed")
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = await api.client.request(method, AUDIT, headers=admin.headers)
        assert response.status_code == 405, method
        response = await api.client.request(method, f"{AUDIT}/{entry['id']}", headers=admin.headers)
        assert response.status_code == 404, method
    assert await audit(api, action="user.role_changed") == [entry]
