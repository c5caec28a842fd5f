"""Joining and leaving events, waitlists, removal by the organizer, and the attendee
list (JSON pages and the CSV export)."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from domain.users import Role
from tests.e2e.conftest import API, Api, Caller, assert_problem, in_days, rfc3339

CSV_HEADER = [
    "registration_id",
    "user_id",
    "full_name",
    "status",
    "waitlist_position",
    "joined_at",
    "checked_in_at",
    "ticket_code",
]


async def join(api: Api, caller: Caller, event_id: str) -> httpx.Response:
    return await api.client.post(f"{API}/events/{event_id}/registrations", headers=caller.headers)


async def attendees(api: Api, caller: Caller, event_id: str, **params: str) -> list[dict[str, Any]]:
    response = await api.client.get(
        f"{API}/events/{event_id}/attendees", params=params, headers=caller.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_joining_confirms_a_seat(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    attendee = await api.user()
    event = await api.published_event(owner, capacity=2)

    response = await join(api, attendee, event["id"])

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {
        "id",
        "event_id",
        "user_id",
        "status",
        "waitlist_position",
        "created_at",
        "checked_in_at",
        "ticket_code",
    }
    assert body["event_id"] == event["id"]
    assert body["user_id"] == attendee.user_id
    assert body["status"] == "confirmed"
    assert body["waitlist_position"] is None
    assert response.headers["location"].endswith(f"/registrations/{body['id']}")
    after = (await api.get_event(event["id"], owner)).json()
    assert after["attendee_count"] == 1
    assert after["available_seats"] == 1


async def test_a_full_event_with_a_waitlist_queues_in_order(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner, capacity=1, waitlist_enabled=True)
    first, second, third = [await api.user(name=f"p{n}") for n in range(3)]

    seated = (await join(api, first, event["id"])).json()
    queued = await join(api, second, event["id"])
    behind = await join(api, third, event["id"])

    assert seated["status"] == "confirmed"
    assert queued.status_code == 201
    assert queued.json()["status"] == "waitlisted"
    assert queued.json()["waitlist_position"] == 1
    assert behind.json()["waitlist_position"] == 2
    after = (await api.get_event(event["id"], owner)).json()
    assert after["attendee_count"] == 1
    assert after["waitlist_count"] == 2
    assert after["available_seats"] == 0


async def test_a_full_event_without_a_waitlist_refuses(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner, capacity=1)
    await api.join(await api.user(name="early"), event["id"])
    late = await api.user(name="late")
    before = api.snapshot()

    response = await join(api, late, event["id"])

    assert_problem(response, 409, "/problems/event-full")
    assert api.snapshot() == before


async def test_joining_twice_is_refused(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    attendee = await api.user()
    event = await api.published_event(owner)
    await api.join(attendee, event["id"])
    before = api.snapshot()

    response = await join(api, attendee, event["id"])

    assert_problem(response, 409, "/problems/already-registered")
    assert api.snapshot() == before


async def test_a_draft_cannot_be_joined_or_even_seen(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    attendee = await api.user()
    draft = await api.create_event(owner)

    assert_problem(await join(api, attendee, draft["id"]), 404)
    assert_problem(await join(api, owner, draft["id"]), 409, "/problems/event-not-joinable")


async def test_an_ended_event_cannot_be_joined(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    attendee = await api.user()
    running = await api.published_event(
        owner, starts_at=rfc3339(in_days(0, hours=-2)), ends_at=rfc3339(in_days(0, hours=1))
    )
    assert (await join(api, attendee, running["id"])).status_code == 201  # started, not ended

    ended = await api.create_event(
        owner, starts_at="2021-03-01T10:00:00Z", ends_at="2021-03-01T12:00:00Z"
    )
    # An ended event cannot be published, so it can never be joined either.
    assert_problem(await join(api, attendee, ended["id"]), 404)


async def test_joining_needs_a_token(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)

    response = await api.client.post(f"{API}/events/{event['id']}/registrations")

    assert_problem(response, 401)
    assert api.snapshot()["registrations"] == []


async def test_leaving_promotes_the_first_waitlisted(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner, capacity=1, waitlist_enabled=True)
    seated, first, second = [await api.user(name=f"p{n}") for n in range(3)]
    for caller in (seated, first, second):
        await api.join(caller, event["id"])

    response = await api.client.delete(
        f"{API}/events/{event['id']}/registrations/me", headers=seated.headers
    )

    assert response.status_code == 204
    assert response.content == b""
    listed = await attendees(api, owner, event["id"])
    assert [(i["user_id"], i["status"], i["waitlist_position"]) for i in listed] == [
        (first.user_id, "confirmed", None),
        (second.user_id, "waitlisted", 1),
    ]
    assert (await api.get_event(event["id"], owner)).json()["waitlist_count"] == 1


async def test_leaving_the_waitlist_moves_the_others_up(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner, capacity=1, waitlist_enabled=True)
    seated, first, second = [await api.user(name=f"p{n}") for n in range(3)]
    for caller in (seated, first, second):
        await api.join(caller, event["id"])

    await api.client.delete(f"{API}/events/{event['id']}/registrations/me", headers=first.headers)

    waiting = await attendees(api, owner, event["id"], status="waitlisted")
    assert [(i["user_id"], i["waitlist_position"]) for i in waiting] == [(second.user_id, 1)]
    seats = await attendees(api, owner, event["id"], status="confirmed")
    assert [i["user_id"] for i in seats] == [seated.user_id]


async def test_leaving_without_a_registration_is_a_409(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    stranger = await api.user()
    event = await api.published_event(owner)

    response = await api.client.delete(
        f"{API}/events/{event['id']}/registrations/me", headers=stranger.headers
    )

    assert_problem(response, 409, "/problems/not-registered")


async def test_one_can_join_again_after_leaving(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    attendee = await api.user()
    event = await api.published_event(owner)
    await api.join(attendee, event["id"])
    await api.client.delete(
        f"{API}/events/{event['id']}/registrations/me", headers=attendee.headers
    )

    response = await join(api, attendee, event["id"])

    assert response.status_code == 201, response.text
    assert response.json()["status"] == "confirmed"


async def test_the_organizer_removes_a_registration_and_the_waitlist_moves(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner, capacity=1, waitlist_enabled=True)
    unwanted, waiting = await api.user(name="unwanted"), await api.user(name="waiting")
    registration = await api.join(unwanted, event["id"])
    await api.join(waiting, event["id"])

    response = await api.client.delete(
        f"{API}/events/{event['id']}/registrations/{registration['id']}", headers=owner.headers
    )

    assert response.status_code == 204
    listed = await attendees(api, owner, event["id"])
    assert [(i["user_id"], i["status"]) for i in listed] == [(waiting.user_id, "confirmed")]
    mine = await api.client.get(f"{API}/users/me/registrations", headers=unwanted.headers)
    assert mine.json()["items"] == []


async def test_a_registration_of_another_event_is_not_found_here(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    attendee = await api.user()
    mine = await api.published_event(owner, title="Mine")
    elsewhere = await api.published_event(owner, title="Elsewhere")
    registration = await api.join(attendee, elsewhere["id"])
    before = api.snapshot()

    response = await api.client.delete(
        f"{API}/events/{mine['id']}/registrations/{registration['id']}", headers=owner.headers
    )

    assert_problem(response, 404)
    assert api.snapshot() == before


async def test_the_attendee_list_shows_people_and_waitlist_positions(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner, capacity=2, waitlist_enabled=True)
    people = [await api.user(name=f"person{n}") for n in range(4)]
    for person in people:
        await api.join(person, event["id"])

    everyone = await attendees(api, owner, event["id"])
    confirmed = await attendees(api, owner, event["id"], status="confirmed")
    waitlisted = await attendees(api, owner, event["id"], status="waitlisted")

    assert [i["user_id"] for i in everyone] == [p.user_id for p in people]
    assert [i["user_id"] for i in confirmed] == [p.user_id for p in people[:2]]
    assert [(i["user_id"], i["waitlist_position"]) for i in waitlisted] == [
        (people[2].user_id, 1),
        (people[3].user_id, 2),
    ]
    assert everyone[0]["user"] == {"id": people[0].user_id, "full_name": "Person0 Person"}
    assert "email" not in str(everyone)


async def test_the_attendee_list_pages(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)
    people = [await api.user(name=f"person{n}") for n in range(3)]
    for person in people:
        await api.join(person, event["id"])

    first = await api.client.get(
        f"{API}/events/{event['id']}/attendees", params={"limit": 2}, headers=owner.headers
    )
    rest = await api.client.get(
        f"{API}/events/{event['id']}/attendees",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=owner.headers,
    )
    bad = await api.client.get(
        f"{API}/events/{event['id']}/attendees",
        params={"limit": 2, "cursor": "forged.cursor"},
        headers=owner.headers,
    )

    ids = [i["user_id"] for i in first.json()["items"] + rest.json()["items"]]
    assert ids == [p.user_id for p in people]
    assert rest.json()["next_cursor"] is None
    assert_problem(bad, 400)


async def test_the_attendee_list_rejects_an_unknown_status(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)

    response = await api.client.get(
        f"{API}/events/{event['id']}/attendees", params={"status": "vip"}, headers=owner.headers
    )

    assert_problem(response, 400)


async def test_the_attendee_list_exports_as_csv(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner, capacity=1, waitlist_enabled=True)
    seated = await api.user(name="seated")
    sneaky = await api.user(name="sneaky")
    await api.client.patch(
        f"{API}/users/me",
        json={"full_name": '=HYPERLINK("http://evil.example","click")'},
        headers=sneaky.headers,
    )
    first = await api.join(seated, event["id"])
    second = await api.join(sneaky, event["id"])

    response = await api.client.get(
        f"{API}/events/{event['id']}/attendees",
        headers={**owner.headers, "Accept": "text/csv"},
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == CSV_HEADER
    assert [(r[0], r[1], r[3], r[4]) for r in rows[1:]] == [
        (first["id"], seated.user_id, "confirmed", ""),
        (second["id"], sneaky.user_id, "waitlisted", "1"),
    ]
    assert rows[1][2] == "Seated Person"
    assert rows[2][2].startswith("'="), "a formula must never reach a spreadsheet as one"


async def test_the_csv_export_honours_the_status_filter_and_an_empty_list(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)
    await api.join(await api.user(), event["id"])

    waitlisted = await api.client.get(
        f"{API}/events/{event['id']}/attendees",
        params={"status": "waitlisted"},
        headers={**owner.headers, "Accept": "text/csv"},
    )

    assert list(csv.reader(io.StringIO(waitlisted.text))) == [CSV_HEADER]


async def test_the_csv_export_is_refused_like_the_list(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    attendee = await api.user()
    event = await api.published_event(owner)
    await api.join(attendee, event["id"])

    response = await api.client.get(
        f"{API}/events/{event['id']}/attendees",
        headers={**attendee.headers, "Accept": "text/csv"},
    )

    assert_problem(response, 403)
    assert attendee.user_id not in response.text
