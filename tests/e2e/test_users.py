"""`/api/v1/users`: one's own account, and account management by admins."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from domain.users import Role
from tests.e2e.conftest import API, PASSWORD, Api, Caller, assert_problem

NEW_PASSWORD = "an entirely different passphrase"


async def get_me(api: Api, caller: Caller) -> httpx.Response:
    return await api.client.get(f"{API}/users/me", headers=caller.headers)


async def list_users(api: Api, caller: Caller, **params: Any) -> httpx.Response:
    return await api.client.get(f"{API}/users", params=params, headers=caller.headers)


async def all_pages(api: Api, caller: Caller, **params: Any) -> list[dict[str, Any]]:
    """Every item of a listing, following `next_cursor` to the end."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await list_users(api, caller, **query)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the listing never ended")


# -- me -----------------------------------------------------------------------------------


async def test_me_is_the_callers_account(api: Api) -> None:
    caller = await api.user(name="self")

    response = await get_me(api, caller)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == caller.user_id
    assert body["email"] == caller.email
    assert body["role"] == "attendee"
    assert set(body) == {
        "id",
        "email",
        "full_name",
        "role",
        "is_active",
        "email_verified",
        "created_at",
        "updated_at",
    }


async def test_patch_me_renames(api: Api) -> None:
    caller = await api.user()
    before = (await get_me(api, caller)).json()

    response = await api.client.patch(
        f"{API}/users/me", json={"full_name": "Renamed Person"}, headers=caller.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["full_name"] == "Renamed Person"
    after = (await get_me(api, caller)).json()
    assert after["full_name"] == "Renamed Person"
    assert after["updated_at"] >= before["updated_at"]
    assert after["created_at"] == before["created_at"]


@pytest.mark.parametrize(
    "payload",
    [{"role": "admin"}, {"is_active": False}, {"email": "new@example.org"}, {"id": "x"}],
)
async def test_patch_me_refuses_fields_it_does_not_own(api: Api, payload: dict[str, Any]) -> None:
    caller = await api.user()
    before = api.snapshot()

    response = await api.client.patch(f"{API}/users/me", json=payload, headers=caller.headers)

    body = assert_problem(response, 400)
    assert [error["field"] for error in body["errors"]] == list(payload)
    assert api.snapshot() == before


async def test_a_password_change_needs_the_current_password(api: Api) -> None:
    caller = await api.user()
    before = api.snapshot()

    response = await api.client.patch(
        f"{API}/users/me", json={"password": NEW_PASSWORD}, headers=caller.headers
    )

    body = assert_problem(response, 400)
    assert [error["field"] for error in body["errors"]] == ["current_password"]
    assert api.snapshot() == before


async def test_a_wrong_current_password_changes_nothing(api: Api) -> None:
    caller = await api.user()
    before = api.snapshot()

    response = await api.client.patch(
        f"{API}/users/me",
        json={"password": NEW_PASSWORD, "current_password": "not the password at all"},
        headers=caller.headers,
    )

    body = assert_problem(response, 400)
    assert [error["field"] for error in body["errors"]] == ["current_password"]
    assert api.snapshot() == before


async def test_a_weak_new_password_is_refused(api: Api) -> None:
    caller = await api.user()

    response = await api.client.patch(
        f"{API}/users/me",
        json={"password": "short", "current_password": PASSWORD},
        headers=caller.headers,
    )

    body = assert_problem(response, 400)
    assert [error["field"] for error in body["errors"]] == ["password"]
    assert (
        await api.token(grant_type="password", username=caller.email, password=PASSWORD)
    ).status_code == 200


async def test_a_password_change_ends_the_other_sessions_only(api: Api) -> None:
    caller = await api.user()
    phone = await api.sign_in("phone", caller.email)

    response = await api.client.patch(
        f"{API}/users/me",
        json={"password": NEW_PASSWORD, "current_password": PASSWORD},
        headers=caller.headers,
    )

    assert response.status_code == 200, response.text
    assert (await get_me(api, caller)).status_code == 200
    assert (await get_me(api, phone)).status_code == 401
    old = await api.token(grant_type="password", username=caller.email, password=PASSWORD)
    assert old.status_code == 400
    new = await api.token(grant_type="password", username=caller.email, password=NEW_PASSWORD)
    assert new.status_code == 200


async def test_delete_me_erases_the_account(api: Api) -> None:
    caller = await api.user()

    response = await api.client.delete(f"{API}/users/me", headers=caller.headers)

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await get_me(api, caller), 401)
    sign_in = await api.token(grant_type="password", username=caller.email, password=PASSWORD)
    assert sign_in.json()["error"] == "invalid_grant"
    admin = await api.admin()
    gone = await api.client.get(f"{API}/users/{caller.user_id}", headers=admin.headers)
    assert_problem(gone, 404)


async def test_delete_me_releases_upcoming_seats_to_the_waitlist(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER)
    leaver = await api.user(name="leaver")
    waiting = await api.user(name="waiting")
    event = await api.published_event(organizer, capacity=1, waitlist_enabled=True)
    await api.join(leaver, event["id"])
    assert (await api.join(waiting, event["id"]))["status"] == "waitlisted"

    assert (await api.client.delete(f"{API}/users/me", headers=leaver.headers)).status_code == 204

    attendees = await api.client.get(
        f"{API}/events/{event['id']}/attendees", headers=organizer.headers
    )
    [only] = attendees.json()["items"]
    assert only["user_id"] == waiting.user_id
    assert only["status"] == "confirmed"


async def test_the_last_admin_cannot_close_their_own_account(api: Api) -> None:
    admin = await api.admin()
    before = api.snapshot()

    response = await api.client.delete(f"{API}/users/me", headers=admin.headers)

    assert_problem(response, 409, "/problems/last-active-admin")
    assert api.snapshot() == before
    assert (await get_me(api, admin)).status_code == 200


# -- my registrations ---------------------------------------------------------------------


async def test_my_registrations_list_mine_with_an_event_summary(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER)
    me = await api.user(name="me")
    other = await api.user(name="other")
    soon = await api.published_event(organizer, title="Soon")
    later = await api.published_event(
        organizer, title="Later", starts_at="2040-01-01T10:00:00Z", ends_at="2040-01-01T12:00:00Z"
    )
    await api.join(me, later["id"])
    await api.join(me, soon["id"])
    await api.join(other, soon["id"])

    response = await api.client.get(f"{API}/users/me/registrations", headers=me.headers)

    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["event"]["title"] for item in items] == ["Soon", "Later"]
    assert {item["user_id"] for item in items} == {me.user_id}
    assert set(items[0]["event"]) >= {"id", "title", "starts_at", "ends_at", "status"}


async def test_my_registrations_upcoming_leaves_out_started_events(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER)
    me = await api.user()
    running = await api.published_event(
        organizer, title="Running now", starts_at=_hours(-1), ends_at=_hours(2)
    )
    upcoming = await api.published_event(organizer, title="Upcoming")
    await api.join(me, running["id"])
    await api.join(me, upcoming["id"])

    everything = await api.client.get(f"{API}/users/me/registrations", headers=me.headers)
    only_upcoming = await api.client.get(
        f"{API}/users/me/registrations", params={"upcoming": "true"}, headers=me.headers
    )

    assert [i["event"]["title"] for i in everything.json()["items"]] == ["Running now", "Upcoming"]
    assert [i["event"]["title"] for i in only_upcoming.json()["items"]] == ["Upcoming"]


async def test_my_registrations_page_with_a_cursor(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER)
    me = await api.user()
    for day in range(3):
        event = await api.published_event(
            organizer,
            title=f"Day {day}",
            starts_at=f"2035-03-0{day + 1}T10:00:00Z",
            ends_at=f"2035-03-0{day + 1}T12:00:00Z",
        )
        await api.join(me, event["id"])

    first = (
        await api.client.get(
            f"{API}/users/me/registrations", params={"limit": 2}, headers=me.headers
        )
    ).json()
    second = (
        await api.client.get(
            f"{API}/users/me/registrations",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=me.headers,
        )
    ).json()

    titles = [i["event"]["title"] for i in first["items"] + second["items"]]
    assert titles == ["Day 0", "Day 1", "Day 2"]
    assert second["next_cursor"] is None


def _hours(hours: float) -> str:
    from tests.e2e.conftest import in_days, rfc3339

    return rfc3339(in_days(0, hours=hours))


# -- admin: list ---------------------------------------------------------------------


async def test_admins_list_users_with_filters(api: Api) -> None:
    admin = await api.admin()
    organizer = await api.user(Role.ORGANIZER, name="orgzilla")
    attendee = await api.user(name="plainjane")
    gone = await api.user(name="departed")
    await api.client.patch(
        f"{API}/users/{gone.user_id}", json={"is_active": False}, headers=admin.headers
    )
    erased = await api.user(name="erased")
    await api.client.delete(f"{API}/users/me", headers=erased.headers)

    everyone = await all_pages(api, admin)
    organizers = await all_pages(api, admin, role="organizer")
    inactive = await all_pages(api, admin, is_active="false")
    active = await all_pages(api, admin, is_active="true")
    by_email = await all_pages(api, admin, q="plainjane")
    by_name = await all_pages(api, admin, q="Orgzilla Person")

    assert {u["id"] for u in everyone} == {
        admin.user_id,
        organizer.user_id,
        attendee.user_id,
        gone.user_id,
    }
    assert [u["id"] for u in organizers] == [organizer.user_id]
    assert [u["id"] for u in inactive] == [gone.user_id]
    assert gone.user_id not in {u["id"] for u in active}
    assert [u["id"] for u in by_email] == [attendee.user_id]
    assert [u["id"] for u in by_name] == [organizer.user_id]
    assert all("password" not in str(u) and "hash" not in str(u) for u in everyone)


async def test_admins_page_through_users_with_a_cursor(api: Api) -> None:
    admin = await api.admin()
    created = {(await api.user(name=f"paged{n}")).user_id for n in range(5)}

    first = await list_users(api, admin, limit=2)
    pages = await all_pages(api, admin, limit=2)

    assert first.status_code == 200
    assert len(first.json()["items"]) == 2
    assert first.json()["next_cursor"]
    ids = [u["id"] for u in pages]
    assert len(ids) == len(set(ids)) == 6
    assert set(ids) == created | {admin.user_id}


async def test_a_tampered_cursor_is_a_400(api: Api) -> None:
    admin = await api.admin()
    for n in range(3):
        await api.user(name=f"cursor{n}")
    cursor = (await list_users(api, admin, limit=1)).json()["next_cursor"]
    body, signature = cursor.split(".")
    tampered = f"{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{signature}"

    for bad in (tampered, "garbage", cursor + "x", "", ".", "a.b.c"):
        response = await list_users(api, admin, limit=1, cursor=bad)
        if bad == "":
            assert response.status_code == 200  # an empty cursor is the first page
            continue
        assert_problem(response, 400)


async def test_a_cursor_cannot_be_replayed_with_other_filters(api: Api) -> None:
    admin = await api.admin()
    for n in range(3):
        await api.user(name=f"replay{n}")
    cursor = (await list_users(api, admin, limit=1)).json()["next_cursor"]

    response = await list_users(api, admin, limit=1, cursor=cursor, role="attendee")

    body = assert_problem(response, 400)
    assert [error["field"] for error in body["errors"]] == ["cursor"]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"limit": 100}, 200),
        ({"limit": 101}, 400),
        ({"limit": 0}, 400),
        ({"limit": -1}, 400),
        ({"limit": "ten"}, 400),
        ({"role": "superuser"}, 400),
        ({"is_active": "maybe"}, 400),
        ({"q": "x" * 201}, 400),
    ],
)
async def test_user_listing_checks_its_parameters(
    api: Api, params: dict[str, Any], status: int
) -> None:
    admin = await api.admin()

    response = await list_users(api, admin, **params)

    assert response.status_code == status, response.text
    if status == 400:
        assert_problem(response, 400)


# -- admin: create, get, patch, delete -----------------------------------------------------


async def test_admins_create_users_with_any_role(api: Api) -> None:
    admin = await api.admin()
    email = api.email("made")

    response = await api.client.post(
        f"{API}/users",
        json={"email": email, "password": PASSWORD, "full_name": "Made Up", "role": "organizer"},
        headers=admin.headers,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["role"] == "organizer"
    assert response.headers["location"] == f"{API}/users/{body['id']}"
    organizer = await api.sign_in("made", email)
    assert (await api.create_event(organizer))["organizer"]["id"] == body["id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"role": "root"}, "role"),
        ({"role": None}, "role"),
        ({"password": "short"}, "password"),
        ({"extra": 1}, "extra"),
    ],
)
async def test_admin_create_validates_the_account(
    api: Api, change: dict[str, Any], field: str
) -> None:
    admin = await api.admin()
    payload = {"email": api.email("v"), "password": PASSWORD, "full_name": "V", "role": "attendee"}
    payload.update(change)
    before = api.snapshot()

    response = await api.client.post(f"{API}/users", json=payload, headers=admin.headers)

    body = assert_problem(response, 400)
    assert field in [error["field"] for error in body["errors"]]
    assert api.snapshot() == before


async def test_admin_create_refuses_a_taken_email(api: Api) -> None:
    admin = await api.admin()
    existing = await api.user()

    response = await api.client.post(
        f"{API}/users",
        json={
            "email": existing.email.upper(),
            "password": PASSWORD,
            "full_name": "Copy",
            "role": "admin",
        },
        headers=admin.headers,
    )

    assert_problem(response, 409, "/problems/email-taken")


async def test_admins_read_any_user(api: Api) -> None:
    admin = await api.admin()
    user = await api.user()

    response = await api.client.get(f"{API}/users/{user.user_id}", headers=admin.headers)

    assert response.status_code == 200
    assert response.json() == (await get_me(api, user)).json()


async def test_an_unknown_user_is_a_404(api: Api) -> None:
    admin = await api.admin()
    unknown = "01890000-0000-7000-8000-000000000000"

    for method in ("GET", "PATCH", "DELETE"):
        response = await api.client.request(
            method,
            f"{API}/users/{unknown}",
            headers=admin.headers,
            json={"full_name": "X"} if method == "PATCH" else None,
        )
        assert_problem(response, 404, "/problems/not-found")


async def test_admins_rename_promote_and_deactivate(api: Api) -> None:
    admin = await api.admin()
    user = await api.user()

    renamed = await api.client.patch(
        f"{API}/users/{user.user_id}",
        json={"full_name": "New Name", "role": "organizer"},
        headers=admin.headers,
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["full_name"] == "New Name"
    assert renamed.json()["role"] == "organizer"
    assert (await api.create_event(user))["organizer"]["full_name"] == "New Name"

    deactivated = await api.client.patch(
        f"{API}/users/{user.user_id}", json={"is_active": False}, headers=admin.headers
    )
    assert deactivated.json()["is_active"] is False
    assert_problem(await get_me(api, user), 401)

    reactivated = await api.client.patch(
        f"{API}/users/{user.user_id}", json={"is_active": True}, headers=admin.headers
    )
    assert reactivated.json()["is_active"] is True
    assert_problem(await get_me(api, user), 401)  # old sessions stay ended
    again = await api.sign_in("again", user.email)
    assert (await get_me(api, again)).status_code == 200


async def test_admins_erase_users_who_then_cannot_sign_in(api: Api) -> None:
    admin = await api.admin()
    user = await api.user()

    response = await api.client.delete(f"{API}/users/{user.user_id}", headers=admin.headers)

    assert response.status_code == 204
    assert_problem(await get_me(api, user), 401)
    sign_in = await api.token(grant_type="password", username=user.email, password=PASSWORD)
    assert sign_in.json()["error"] == "invalid_grant"
    again = await api.client.delete(f"{API}/users/{user.user_id}", headers=admin.headers)
    assert_problem(again, 404)


@pytest.mark.parametrize(
    ("method", "payload"),
    [("PATCH", {"role": "organizer"}), ("PATCH", {"is_active": False}), ("DELETE", None)],
)
async def test_the_last_active_admin_stays(
    api: Api, method: str, payload: dict[str, Any] | None
) -> None:
    admin = await api.admin()
    before = api.snapshot()

    response = await api.client.request(
        method,
        f"{API}/users/{admin.user_id}",
        headers=admin.headers,
        json=payload,
    )

    assert_problem(response, 409, "/problems/last-active-admin")
    assert api.snapshot() == before


async def test_with_two_admins_one_may_step_down(api: Api) -> None:
    first = await api.admin()
    second = await api.user(Role.ADMIN, name="second")

    demoted = await api.client.patch(
        f"{API}/users/{first.user_id}", json={"role": "attendee"}, headers=second.headers
    )
    assert demoted.status_code == 200, demoted.text

    assert_problem(await list_users(api, first), 403)
    last = await api.client.patch(
        f"{API}/users/{second.user_id}", json={"role": "attendee"}, headers=second.headers
    )
    assert_problem(last, 409, "/problems/last-active-admin")
