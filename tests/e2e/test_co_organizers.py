"""`/api/v1/events/{id}/co-organizers` and what a co-organizer may do, on both databases.

Who may call which route is in test_access_control.py; here: the answers' bodies,
the 409s, rights following the stored role (a demotion or deactivation ends
them), erasure and deletion taking the rows along, and the audit entries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from domain.users import Role
from tests.e2e.conftest import API, Api, Caller, assert_problem


def co_organizers_of(event_id: str) -> str:
    return f"{API}/events/{event_id}/co-organizers"


async def add(api: Api, by: Caller, event_id: str, user_id: str | None) -> Any:
    return await api.client.post(
        co_organizers_of(event_id), json={"user_id": user_id}, headers=by.headers
    )


async def listed(api: Api, by: Caller, event_id: str) -> list[str]:
    response = await api.client.get(co_organizers_of(event_id), headers=by.headers)
    assert response.status_code == 200, response.text
    return [item["user"]["id"] for item in response.json()["items"]]


async def team(api: Api) -> tuple[Caller, Caller, dict[str, Any]]:
    """An owner, an organizer made co-organizer of the owner's draft, and the draft."""
    owner = await api.user(Role.ORGANIZER, "owner")
    co = await api.user(Role.ORGANIZER, "co")
    draft = await api.create_event(owner, title="Secret draft")
    assert (await add(api, owner, draft["id"], co.user_id)).status_code == 201
    return owner, co, draft


async def test_adding_answers_the_person_and_where_to_find_them(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, "owner")
    co = await api.user(Role.ORGANIZER, "co")
    event = await api.create_event(owner)

    response = await add(api, owner, event["id"], co.user_id)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"] == {"id": co.user_id, "full_name": "Co Person"}
    assert datetime.fromisoformat(body["added_at"]).tzinfo is not None
    assert response.headers["location"] == f"{co_organizers_of(event['id'])}/{co.user_id}"
    assert await listed(api, owner, event["id"]) == [co.user_id]
    assert await listed(api, co, event["id"]) == [co.user_id]


async def test_an_admin_may_be_a_co_organizer_and_add_one(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, "owner")
    admin = await api.admin()
    event = await api.create_event(owner)

    assert (await add(api, admin, event["id"], admin.user_id)).status_code == 201

    assert await listed(api, owner, event["id"]) == [admin.user_id]


async def test_only_active_organizers_and_admins_can_be_added(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, "owner")
    attendee = await api.user(Role.ATTENDEE)
    retired = await api.user(Role.ORGANIZER, "retired")
    admin = await api.admin()
    deactivated = await api.client.patch(
        f"{API}/users/{retired.user_id}", json={"is_active": False}, headers=admin.headers
    )
    assert deactivated.status_code == 200, deactivated.text
    event = await api.create_event(owner)
    unknown = "0191d2b4-0000-7000-8000-000000000000"

    for user_id in (attendee.user_id, retired.user_id, unknown):
        body = assert_problem(
            await add(api, owner, event["id"], user_id), 409, "/problems/not-an-organizer"
        )
        assert user_id not in body.get("detail", "")

    assert await listed(api, owner, event["id"]) == []


async def test_the_owner_and_a_second_add_are_conflicts(api: Api) -> None:
    owner, co, draft = await team(api)

    assert_problem(
        await add(api, owner, draft["id"], owner.user_id), 409, "/problems/owner-not-co-organizer"
    )
    assert_problem(
        await add(api, owner, draft["id"], co.user_id), 409, "/problems/already-co-organizer"
    )
    assert await listed(api, owner, draft["id"]) == [co.user_id]


async def test_bad_bodies_are_400_and_change_nothing(api: Api) -> None:
    owner, co, draft = await team(api)
    before = api.snapshot()

    bodies: list[Any] = [{}, {"user_id": "nope"}, {"user_id": co.user_id, "extra": 1}, []]
    for body in bodies:
        response = await api.client.post(
            co_organizers_of(draft["id"]), json=body, headers=owner.headers
        )
        assert_problem(response, 400)

    assert api.snapshot() == before


async def test_removing_ends_the_rights_and_someone_else_is_not_found(api: Api) -> None:
    owner, co, draft = await team(api)
    stranger = await api.user(Role.ORGANIZER, "stranger")

    assert_problem(
        await api.client.delete(
            f"{co_organizers_of(draft['id'])}/{stranger.user_id}", headers=owner.headers
        ),
        404,
    )
    removed = await api.client.delete(
        f"{co_organizers_of(draft['id'])}/{co.user_id}", headers=owner.headers
    )

    assert removed.status_code == 204, removed.text
    assert_problem(await api.get_event(draft["id"], co), 404)
    assert await listed(api, owner, draft["id"]) == []


async def test_a_co_organizer_manages_the_draft_but_cannot_cancel_or_delete(api: Api) -> None:
    _, co, draft = await team(api)
    event_url = f"{API}/events/{draft['id']}"

    assert (await api.get_event(draft["id"], co)).json()["title"] == "Secret draft"
    changed = await api.client.patch(event_url, json={"title": "Renamed"}, headers=co.headers)
    assert changed.status_code == 200, changed.text
    published = await api.client.patch(event_url, json={"status": "published"}, headers=co.headers)
    assert published.status_code == 200, published.text
    attendee = await api.user(Role.ATTENDEE)
    registration = await api.join(attendee, draft["id"])
    attendees = await api.client.get(f"{event_url}/attendees", headers=co.headers)
    assert [a["id"] for a in attendees.json()["items"]] == [registration["id"]]
    csv = await api.client.get(
        f"{event_url}/attendees", headers={**co.headers, "Accept": "text/csv"}
    )
    assert csv.status_code == 200, csv.text
    assert "Attendee Person" in csv.text

    third = await api.user(Role.ORGANIZER, "third")
    before = api.snapshot()
    assert_problem(
        await api.client.patch(event_url, json={"status": "cancelled"}, headers=co.headers), 403
    )
    assert_problem(await api.client.post(f"{event_url}/cancel", headers=co.headers), 403)
    assert_problem(await api.client.delete(event_url, headers=co.headers), 403)
    assert_problem(await add(api, co, draft["id"], third.user_id), 403)
    assert api.snapshot() == before

    removal = await api.client.delete(
        f"{event_url}/registrations/{registration['id']}", headers=co.headers
    )
    assert removal.status_code == 204, removal.text


async def test_demoted_or_deactivated_co_organizers_lose_their_rights(api: Api) -> None:
    owner, co, draft = await team(api)
    other = await api.user(Role.ORGANIZER, "other")
    assert (await add(api, owner, draft["id"], other.user_id)).status_code == 201
    admin = await api.admin()

    demoted = await api.client.patch(
        f"{API}/users/{co.user_id}", json={"role": "attendee"}, headers=admin.headers
    )
    assert demoted.status_code == 200, demoted.text

    assert_problem(await api.get_event(draft["id"], co), 404)
    assert_problem(
        await api.client.get(f"{API}/events/{draft['id']}/attendees", headers=co.headers), 404
    )
    assert (await api.get_event(draft["id"], other)).status_code == 200
    deactivated = await api.client.patch(
        f"{API}/users/{other.user_id}", json={"is_active": False}, headers=admin.headers
    )
    assert deactivated.status_code == 200, deactivated.text
    assert_problem(await api.get_event(draft["id"], other), 401)

    promoted = await api.client.patch(
        f"{API}/users/{co.user_id}", json={"role": "organizer"}, headers=admin.headers
    )
    assert promoted.status_code == 200, promoted.text
    assert (await api.get_event(draft["id"], co)).status_code == 200  # the row stayed


async def test_erasing_a_co_organizer_removes_their_rows(api: Api) -> None:
    owner, co, draft = await team(api)

    erased = await api.client.delete(f"{API}/users/me", headers=co.headers)

    assert erased.status_code == 204, erased.text
    assert await listed(api, owner, draft["id"]) == []


async def test_erasing_the_owner_closes_their_events_for_the_co_organizers_too(
    api: Api,
) -> None:
    owner, co, draft = await team(api)
    published = await api.published_event(owner)
    assert (await add(api, owner, published["id"], co.user_id)).status_code == 201

    assert (await api.client.delete(f"{API}/users/me", headers=owner.headers)).status_code == 204

    assert_problem(await api.get_event(draft["id"], co), 404)
    assert (await api.get_event(published["id"], co)).json()["status"] == "cancelled"
    assert_problem(
        await api.client.patch(
            f"{API}/events/{published['id']}", json={"title": "Mine now"}, headers=co.headers
        ),
        409,
    )


async def test_deleting_the_event_deletes_its_co_organizers(api: Api) -> None:
    owner, _, draft = await team(api)

    assert (
        await api.client.delete(f"{API}/events/{draft['id']}", headers=owner.headers)
    ).status_code == 204

    rows = api.snapshot()["event_co_organizers"]
    assert [row for row in rows if UUID(str(row[0])) == UUID(draft["id"])] == []
    assert rows == []


async def test_changes_are_audited(api: Api) -> None:
    owner, co, draft = await team(api)
    assert (
        await api.client.delete(
            f"{co_organizers_of(draft['id'])}/{co.user_id}", headers=owner.headers
        )
    ).status_code == 204
    admin = await api.admin()

    response = await api.client.get(
        f"{API}/audit-events", params={"subject_id": draft["id"]}, headers=admin.headers
    )

    entries = [(e["action"], e["actor_id"]) for e in response.json()["items"]]
    assert entries == [
        ("event.co_organizer_removed", owner.user_id),
        ("event.co_organizer_added", owner.user_id),
    ]
    assert all(e["details"] == {"user_id": co.user_id} for e in response.json()["items"])


async def test_the_anonymous_cache_never_holds_a_co_organizers_view(api: Api) -> None:
    _, co, draft = await team(api)

    assert (await api.get_event(draft["id"], co)).status_code == 200

    assert_problem(await api.client.get(f"{API}/events/{draft['id']}"), 404)
    calendar = await api.client.get(f"{API}/events/{draft['id']}/calendar.ics")
    assert_problem(calendar, 404)
    assert (
        await api.client.get(f"{API}/events/{draft['id']}/calendar.ics", headers=co.headers)
    ).status_code == 200
