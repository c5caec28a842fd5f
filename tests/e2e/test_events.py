"""`/api/v1/events`: create, read with ETags, change with If-Match, publish, cancel,
delete, search with every filter and keyset paging, and the `.ics` entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from domain.users import Role
from tests.e2e.conftest import API, Api, Caller, assert_problem, event_body

EVENT_FIELDS = {
    "id",
    "title",
    "description",
    "location",
    "starts_at",
    "ends_at",
    "timezone",
    "capacity",
    "attendee_count",
    "available_seats",
    "waitlist_enabled",
    "waitlist_count",
    "status",
    "organizer",
    "created_at",
    "updated_at",
}


async def patch_event(
    api: Api, caller: Caller, event_id: str, changes: dict[str, Any], **headers: str
) -> httpx.Response:
    return await api.client.patch(
        f"{API}/events/{event_id}", json=changes, headers={**caller.headers, **headers}
    )


# -- create -----------------------------------------------------------------------------


async def test_create_answers_201_with_location_and_etag(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER, name="planner")

    response = await api.client.post(f"{API}/events", json=event_body(), headers=organizer.headers)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == EVENT_FIELDS | {"checked_in_count"}  # the owner's own view
    assert response.headers["location"] == f"{API}/events/{body['id']}"
    assert response.headers["etag"].startswith('"')
    assert body["status"] == "draft"
    assert body["organizer"] == {"id": organizer.user_id, "full_name": "Planner Person"}
    assert body["capacity"] == 10
    assert body["attendee_count"] == 0
    assert body["available_seats"] == 10
    assert body["waitlist_count"] == 0
    assert body["timezone"] == "Europe/Berlin"
    assert body["location"]["city"] == "Berlin"
    assert body["location"]["latitude"] == pytest.approx(52.5392)
    assert body["starts_at"].endswith("Z")
    fetched = await api.get_event(body["id"], organizer)
    assert fetched.json() == body
    assert fetched.headers["etag"] == response.headers["etag"]


async def test_create_stores_times_in_utc(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER)

    event = await api.create_event(
        organizer, starts_at="2035-07-01T20:00:00+02:00", ends_at="2035-07-01T22:30:00+02:00"
    )

    assert event["starts_at"] == "2035-07-01T18:00:00Z"
    assert event["ends_at"] == "2035-07-01T20:30:00Z"


async def test_create_can_publish_right_away(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER)

    event = await api.create_event(organizer, status="published")

    assert event["status"] == "published"
    assert (await api.client.get(f"{API}/events/{event['id']}")).status_code == 200


async def test_create_sanitizes_the_description(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER)
    dirty = (
        '<p onclick="steal()">Hello <b>world</b></p><script>alert(1)</script>'
        '<a href="javascript:alert(2)">x</a><img src=x onerror=alert(3)>'
        '<a href="https://example.org">ok</a>'
    )

    event = await api.create_event(organizer, description=dirty)

    description = event["description"]
    assert "<b>world</b>" in description
    assert 'href="https://example.org"' in description
    for bad in ("<script", "onclick", "onerror", "javascript:", "alert(1)"):
        assert bad not in description.lower(), description


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 100_001}, "capacity"),
        ({"capacity": "ten"}, "capacity"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"starts_at": "2035-01-01T10:00:00", "ends_at": "2035-01-01T12:00:00"}, "starts_at"),
        ({"starts_at": "2035-01-01T10:00:00Z", "ends_at": "2035-01-01T09:00:00Z"}, "ends_at"),
        ({"starts_at": "not a time"}, "starts_at"),
        ({"description": "x" * 10_001}, "description"),
        ({"location": {"latitude": 91, "longitude": 0}}, "location.latitude"),
        ({"location": {"latitude": 10}}, "location"),
        ({"location": {"planet": "Earth"}}, "location.planet"),
        ({"organizer_id": "01890000-0000-7000-8000-000000000000"}, "organizer_id"),
        ({"attendee_count": 5}, "attendee_count"),
        ({"status": "cancelled"}, "status"),
    ],
)
async def test_create_rejects_invalid_events_naming_the_field(
    api: Api, change: dict[str, Any], field: str
) -> None:
    organizer = await api.user(Role.ORGANIZER)

    response = await api.client.post(
        f"{API}/events", json=event_body(**change), headers=organizer.headers
    )

    assert response.status_code in {400, 409}, response.text
    if response.status_code == 400:
        body = assert_problem(response, 400)
        assert field in [error["field"] for error in body["errors"]], body
    else:  # a status the create form accepts but no event can start in
        assert field == "status"
        assert_problem(response, 409)
    assert api.snapshot()["events"] == []


async def test_create_requires_the_essentials(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER)

    response = await api.client.post(
        f"{API}/events", json={"title": "Only a title"}, headers=organizer.headers
    )

    body = assert_problem(response, 400)
    assert {error["field"] for error in body["errors"]} & {"starts_at", "ends_at", "capacity"}


# -- visibility and publication --------------------------------------------------------


async def test_a_draft_is_invisible_to_everyone_but_its_organizer_and_admins(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, name="owner")
    other = await api.user(Role.ORGANIZER, name="other")
    attendee = await api.user()
    admin = await api.admin()
    draft = await api.create_event(owner)
    unknown = "01890000-0000-7000-8000-000000000000"

    for caller in (other, attendee):
        hidden = await api.get_event(draft["id"], caller)
        missing = await api.get_event(unknown, caller)
        assert_problem(hidden, 404, "/problems/not-found")
        assert hidden.json()["title"] == missing.json()["title"]
        assert draft["title"] not in hidden.text
    assert_problem(await api.client.get(f"{API}/events/{draft['id']}"), 404)
    assert (await api.get_event(draft["id"], owner)).status_code == 200
    assert (await api.get_event(draft["id"], admin)).status_code == 200
    public = (await api.client.get(f"{API}/events")).json()["items"]
    assert public == []


async def test_publishing_with_patch_status_makes_it_public(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    draft = await api.create_event(owner)

    response = await patch_event(api, owner, draft["id"], {"status": "published"})

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "published"
    anonymous = await api.client.get(f"{API}/events/{draft['id']}")
    assert anonymous.status_code == 200
    assert anonymous.json()["status"] == "published"
    listed = (await api.client.get(f"{API}/events")).json()["items"]
    assert [event["id"] for event in listed] == [draft["id"]]


async def test_status_moves_only_forward(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)

    response = await patch_event(api, owner, event["id"], {"status": "draft"})

    assert_problem(response, 409)
    assert (await api.get_event(event["id"], owner)).json()["status"] == "published"


async def test_an_event_that_has_ended_cannot_be_published(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    past = await api.create_event(
        owner, starts_at="2020-01-01T10:00:00Z", ends_at="2020-01-01T12:00:00Z"
    )

    response = await patch_event(api, owner, past["id"], {"status": "published"})

    assert_problem(response, 409)
    assert (await api.get_event(past["id"], owner)).json()["status"] == "draft"


# -- ETag, If-None-Match, If-Match ----------------------------------------------------------


async def test_get_gives_an_etag_and_if_none_match_gives_304(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)
    first = await api.client.get(f"{API}/events/{event['id']}")
    etag = first.headers["etag"]

    same = await api.client.get(f"{API}/events/{event['id']}", headers={"If-None-Match": etag})
    weak = await api.client.get(
        f"{API}/events/{event['id']}", headers={"If-None-Match": f'"nope", W/{etag}'}
    )
    other = await api.client.get(
        f"{API}/events/{event['id']}", headers={"If-None-Match": '"something-else"'}
    )

    assert same.status_code == 304
    assert same.content == b""
    assert same.headers["etag"] == etag
    assert weak.status_code == 304
    assert other.status_code == 200
    assert other.json() == first.json()


async def test_the_etag_changes_with_the_event(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)
    before = (await api.client.get(f"{API}/events/{event['id']}")).headers["etag"]

    changed = await patch_event(api, owner, event["id"], {"title": "A new title"})

    after = await api.client.get(f"{API}/events/{event['id']}", headers={"If-None-Match": before})
    assert after.status_code == 200
    assert after.headers["etag"] != before
    # The owner's Event carries `checked_in_count`, so their representation (and ETag) is
    # their own: the PATCH answers with the ETag the owner's GET gives.
    mine = await api.get_event(event["id"], owner)
    assert mine.headers["etag"] == changed.headers["etag"]


async def test_if_none_match_does_not_reveal_a_draft(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    draft = await api.create_event(owner)

    response = await api.client.get(f"{API}/events/{draft['id']}", headers={"If-None-Match": "*"})

    assert_problem(response, 404)


async def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)
    stale = (await api.get_event(event["id"], owner)).headers["etag"]
    await patch_event(api, owner, event["id"], {"title": "Changed by someone else"})
    before = api.snapshot()

    response = await patch_event(
        api, owner, event["id"], {"title": "My lost update"}, **{"If-Match": stale}
    )

    assert_problem(response, 412)
    assert api.snapshot() == before
    assert (await api.get_event(event["id"], owner)).json()["title"] == "Changed by someone else"


async def test_patch_with_the_current_if_match_succeeds(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)
    current = (await api.get_event(event["id"], owner)).headers["etag"]

    response = await patch_event(
        api, owner, event["id"], {"title": "Guarded update"}, **{"If-Match": current}
    )

    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Guarded update"
    assert response.headers["etag"] == (await api.get_event(event["id"], owner)).headers["etag"]


# -- PATCH --------------------------------------------------------------------------------


async def test_patch_changes_only_what_it_names(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)

    response = await patch_event(
        api,
        owner,
        event["id"],
        {"title": "Renamed", "location": {"venue": "New venue"}, "capacity": 20},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["title"] == "Renamed"
    assert body["location"]["venue"] == "New venue"
    assert body["location"]["city"] == event["location"]["city"]
    assert body["capacity"] == 20
    assert body["available_seats"] == 20
    assert body["description"] == event["description"]
    assert body["starts_at"] == event["starts_at"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"capacity": 0}, "capacity"),
        ({"title": ""}, "title"),
        ({"ends_at": "2000-01-01T00:00:00Z"}, "ends_at"),
        ({"organizer": {"id": "x"}}, "organizer"),
        ({"status": "archived"}, "status"),
    ],
)
async def test_patch_validates_and_changes_nothing_when_invalid(
    api: Api, changes: dict[str, Any], field: str
) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)
    before = api.snapshot()

    response = await patch_event(api, owner, event["id"], changes)

    body = assert_problem(response, 400)
    assert field in [error["field"] for error in body["errors"]], body
    assert api.snapshot() == before


async def test_capacity_below_the_attendees_is_409_and_changes_nothing(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner, capacity=3)
    for name in ("one", "two"):
        await api.join(await api.user(name=name), event["id"])
    before = api.snapshot()

    response = await patch_event(api, owner, event["id"], {"capacity": 1})

    assert_problem(response, 409, "/problems/capacity-below-attendees")
    assert api.snapshot() == before
    assert (await api.get_event(event["id"], owner)).json()["capacity"] == 3


async def test_more_capacity_confirms_the_waitlist_in_order(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner, capacity=1, waitlist_enabled=True)
    people = [await api.user(name=f"p{n}") for n in range(3)]
    for person in people:
        await api.join(person, event["id"])

    response = await patch_event(api, owner, event["id"], {"capacity": 2})

    assert response.json()["attendee_count"] == 2
    assert response.json()["waitlist_count"] == 1
    attendees = await api.client.get(f"{API}/events/{event['id']}/attendees", headers=owner.headers)
    status = {item["user_id"]: item["status"] for item in attendees.json()["items"]}
    assert status == {
        people[0].user_id: "confirmed",
        people[1].user_id: "confirmed",
        people[2].user_id: "waitlisted",
    }


# -- cancel and delete -------------------------------------------------------------------


async def test_cancel_ends_the_event_and_its_registrations(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    attendee = await api.user()
    event = await api.published_event(owner)
    await api.join(attendee, event["id"])

    response = await api.client.post(
        f"{API}/events/{event['id']}/cancel",
        json={"reason": "The speaker is ill"},
        headers=owner.headers,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["attendee_count"] == 0
    public = await api.client.get(f"{API}/events/{event['id']}")
    assert public.json()["status"] == "cancelled"
    mine = await api.client.get(f"{API}/users/me/registrations", headers=attendee.headers)
    assert all(item["status"] != "confirmed" for item in mine.json()["items"])
    rejoin = await api.client.post(
        f"{API}/events/{event['id']}/registrations", headers=attendee.headers
    )
    assert_problem(rejoin, 409)


async def test_cancel_needs_no_body(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)

    response = await api.client.post(f"{API}/events/{event['id']}/cancel", headers=owner.headers)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"


async def test_a_cancelled_event_is_final(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)
    await api.client.post(f"{API}/events/{event['id']}/cancel", headers=owner.headers)
    before = api.snapshot()

    again = await api.client.post(f"{API}/events/{event['id']}/cancel", headers=owner.headers)
    patched = await patch_event(api, owner, event["id"], {"title": "Back from the dead"})
    republished = await patch_event(api, owner, event["id"], {"status": "published"})

    assert_problem(again, 409)
    assert_problem(patched, 409)
    assert_problem(republished, 409)
    assert api.snapshot() == before


async def test_a_draft_cannot_be_cancelled(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    draft = await api.create_event(owner)

    response = await api.client.post(f"{API}/events/{draft['id']}/cancel", headers=owner.headers)

    assert_problem(response, 409)


async def test_cancel_rejects_unknown_fields(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)

    response = await api.client.post(
        f"{API}/events/{event['id']}/cancel", json={"refund": True}, headers=owner.headers
    )

    body = assert_problem(response, 400)
    assert [error["field"] for error in body["errors"]] == ["refund"]


async def test_patch_status_cancelled_cancels(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    attendee = await api.user()
    event = await api.published_event(owner)
    await api.join(attendee, event["id"])

    response = await patch_event(api, owner, event["id"], {"status": "cancelled"})

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["attendee_count"] == 0


async def test_delete_removes_the_event(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    attendee = await api.user()
    event = await api.published_event(owner)
    await api.join(attendee, event["id"])

    response = await api.client.delete(f"{API}/events/{event['id']}", headers=owner.headers)

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await api.get_event(event["id"], owner), 404)
    again = await api.client.delete(f"{API}/events/{event['id']}", headers=owner.headers)
    assert_problem(again, 404)
    mine = await api.client.get(f"{API}/users/me/registrations", headers=attendee.headers)
    assert mine.json()["items"] == []
    assert api.snapshot()["registrations"] == []


# -- search ------------------------------------------------------------------------------


@dataclass
class Catalogue:
    owner: Caller
    other: Caller
    attendee: Caller
    admin: Caller
    ids: dict[str, str]


def _at(day: str, hour: str) -> dict[str, str]:
    return {"starts_at": f"2035-{day}T{hour}:00:00Z", "ends_at": f"2035-{day}T{hour}:59:00Z"}


def _place(venue: str, city: str, country: str, lat: float, lng: float) -> dict[str, Any]:
    return {
        "location": {
            "venue": venue,
            "address": "",
            "city": city,
            "country": country,
            "latitude": lat,
            "longitude": lng,
        }
    }


async def catalogue(api: Api) -> Catalogue:
    """Published: Python (Berlin, 05-10), Munich (05-15), Rust (Paris, 05-20), Data (Berlin,
    06-01, full). Also a draft and a cancelled event in Berlin."""
    owner = await api.user(Role.ORGANIZER, name="owner")
    other = await api.user(Role.ORGANIZER, name="other")
    attendee = await api.user()
    admin = await api.admin()
    ids: dict[str, str] = {}
    specs: list[tuple[str, Caller, dict[str, Any]]] = [
        (
            "Python meetup",
            owner,
            {**_at("05-10", "18"), **_place("Kulturbrauerei", "Berlin", "DE", 52.5392, 13.4128)},
        ),
        (
            "Rust workshop",
            owner,
            {
                **_at("05-20", "09"),
                **_place("Station F", "Paris", "FR", 48.8342, 2.3700),
                "description": "<p>Hands-on tokio and async</p>",
            },
        ),
        (
            "Data science day",
            owner,
            {**_at("06-01", "08"), **_place("Urania", "Berlin", "DE", 52.5013, 13.3446)},
        ),
        (
            "Oktoberfest hack night",
            other,
            {**_at("05-15", "17"), **_place("Werksviertel", "München", "DE", 48.1372, 11.5756)},
        ),
    ]
    for title, organizer, fields in specs:
        capacity = 1 if title.startswith("Data") else 10
        ids[title] = (
            await api.published_event(organizer, title=title, capacity=capacity, **fields)
        )["id"]
    await api.join(attendee, ids["Data science day"])
    ids["Secret planning"] = (
        await api.create_event(
            owner,
            title="Secret planning",
            **_at("05-12", "10"),
            **_place("Office", "Berlin", "DE", 52.52, 13.40),
        )
    )["id"]
    called_off = await api.published_event(
        owner,
        title="Called off",
        **_at("05-13", "10"),
        **_place("Hall", "Berlin", "DE", 52.52, 13.40),
    )
    cancelled = await api.client.post(
        f"{API}/events/{called_off['id']}/cancel", headers=owner.headers
    )
    assert cancelled.status_code == 200
    ids["Called off"] = called_off["id"]
    return Catalogue(owner=owner, other=other, attendee=attendee, admin=admin, ids=ids)


PUBLISHED = ["Python meetup", "Oktoberfest hack night", "Rust workshop", "Data science day"]
SEARCHES: list[tuple[str, dict[str, str], list[str]]] = [
    ("everything published, by start", {}, PUBLISHED),
    ("newest first", {"sort": "-starts_at"}, PUBLISHED[::-1]),
    ("q in the title", {"q": "python"}, ["Python meetup"]),
    ("q in the description", {"q": "tokio"}, ["Rust workshop"]),
    ("q in the venue", {"q": "Urania"}, ["Data science day"]),
    ("q in the city", {"q": "paris"}, ["Rust workshop"]),
    ("q that matches nothing", {"q": "cobol"}, []),
    ("q with SQL in it", {"q": "'; DROP TABLE events; --"}, []),
    ("city, any case", {"city": "berlin"}, ["Python meetup", "Data science day"]),
    ("country", {"country": "FR"}, ["Rust workshop"]),
    (
        "country, any case",
        {"country": "de"},
        ["Python meetup", "Oktoberfest hack night", "Data science day"],
    ),
    ("starts_from a date", {"starts_from": "2035-05-15"}, PUBLISHED[1:]),
    ("starts_to a date is inclusive", {"starts_to": "2035-05-15"}, PUBLISHED[:2]),
    ("date range", {"starts_from": "2035-05-11", "starts_to": "2035-05-31"}, PUBLISHED[1:3]),
    (
        "starts_from a date-time with an offset",
        {"starts_from": "2035-05-15T18:00:00+02:00"},
        PUBLISHED[1:],
    ),
    (
        "starts_to a date-time with an offset",
        {"starts_to": "2035-05-15T18:00:00+02:00"},
        PUBLISHED[:1],
    ),
    ("starts_to a UTC date-time", {"starts_to": "2035-05-15T17:00:00Z"}, PUBLISHED[:2]),
    (
        "near Berlin",
        {"near": "52.52,13.405", "radius_km": "10"},
        ["Python meetup", "Data science day"],
    ),
    (
        "near Berlin, wider",
        {"near": "52.52,13.405", "radius_km": "600"},
        ["Python meetup", "Oktoberfest hack night", "Data science day"],
    ),
    ("available seats only", {"available": "true"}, PUBLISHED[:3]),
    ("status cancelled is public", {"status": "cancelled"}, ["Called off"]),
    ("combined", {"city": "Berlin", "available": "true", "q": "python"}, ["Python meetup"]),
]


async def titles(api: Api, params: dict[str, str], caller: Caller | None = None) -> Any:
    response = await api.client.get(
        f"{API}/events", params=params, headers=caller.headers if caller else {}
    )
    if response.status_code != 200:
        return response.status_code, response.text
    return [item["title"] for item in response.json()["items"]]


async def test_search_filters(api: Api) -> None:
    await catalogue(api)
    mismatches = []

    for name, params, expected in SEARCHES:
        got = await titles(api, params)
        if got != expected:
            mismatches.append(f"{name} {params}: expected {expected}, got {got}")

    assert not mismatches, "\n".join(mismatches)


async def test_search_by_organizer(api: Api) -> None:
    world = await catalogue(api)

    assert await titles(api, {"organizer_id": world.other.user_id}) == ["Oktoberfest hack night"]
    assert await titles(api, {"organizer_id": world.attendee.user_id}) == []


async def test_drafts_are_listed_only_for_their_organizer_and_admins(api: Api) -> None:
    world = await catalogue(api)

    assert await titles(api, {"status": "draft"}, world.owner) == ["Secret planning"]
    assert await titles(api, {"status": "draft"}, world.other) == []
    assert await titles(api, {"status": "draft"}, world.admin) == ["Secret planning"]
    other_drafts = {"status": "draft", "organizer_id": world.owner.user_id}
    assert await titles(api, other_drafts, world.other) == []
    anonymous = await api.client.get(f"{API}/events", params={"status": "draft"})
    assert_problem(anonymous, 401)
    attendee = await api.client.get(
        f"{API}/events", params={"status": "draft"}, headers=world.attendee.headers
    )
    assert_problem(attendee, 403)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"starts_from": "2035-05-15T10:00:00"}, "starts_from"),
        ({"starts_from": "yesterday"}, "starts_from"),
        ({"starts_to": "2035-13-01"}, "starts_to"),
        ({"starts_from": "2035-06-01", "starts_to": "2035-05-01"}, "starts_to"),
        ({"near": "52.52,13.405"}, "near"),
        ({"radius_km": "10"}, "near"),
        ({"near": "north", "radius_km": "10"}, "near"),
        ({"near": "91,0", "radius_km": "10"}, "near"),
        ({"near": "1,2,3", "radius_km": "10"}, "near"),
        ({"near": "52.52,13.405", "radius_km": "0"}, "radius_km"),
        ({"near": "52.52,13.405", "radius_km": "-5"}, "radius_km"),
        ({"near": "52.52,13.405", "radius_km": "nan"}, "radius_km"),
        ({"status": "deleted"}, "status"),
        ({"sort": "title"}, "sort"),
        ({"sort": "distance"}, "sort"),
        ({"sort": "distance", "q": "python"}, "sort"),
        ({"include": "everything"}, "include"),
        ({"available": "perhaps"}, "available"),
        ({"organizer_id": "not-a-uuid"}, "organizer_id"),
        ({"limit": "101"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"q": "x" * 201}, "q"),
    ],
)
async def test_search_rejects_bad_parameters(api: Api, params: dict[str, str], field: str) -> None:
    response = await api.client.get(f"{API}/events", params=params)

    body = assert_problem(response, 400)
    fields = [error["field"] for error in body.get("errors", [])]
    assert field in fields or field in body.get("detail", ""), body


async def test_search_pages_with_cursors_in_both_directions(api: Api) -> None:
    await catalogue(api)

    for sort, expected in (("starts_at", PUBLISHED), ("-starts_at", PUBLISHED[::-1])):
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            params = {"limit": "1", "sort": sort, **({"cursor": cursor} if cursor else {})}
            page = (await api.client.get(f"{API}/events", params=params)).json()
            seen += [item["title"] for item in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None or pages > 10:
                break
        assert seen == expected
        assert pages in {len(expected), len(expected) + 1}


async def test_a_search_cursor_keeps_its_filters(api: Api) -> None:
    await catalogue(api)
    first = (await api.client.get(f"{API}/events", params={"limit": "1", "country": "DE"})).json()

    rest = await api.client.get(
        f"{API}/events", params={"limit": "5", "country": "DE", "cursor": first["next_cursor"]}
    )
    replayed = await api.client.get(
        f"{API}/events", params={"limit": "5", "country": "FR", "cursor": first["next_cursor"]}
    )

    assert [e["title"] for e in rest.json()["items"]] == [
        "Oktoberfest hack night",
        "Data science day",
    ]
    assert_problem(replayed, 400)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),
        lambda c: ("B" if c[0] != "B" else "C") + c[1:],
        lambda c: c.split(".")[0],
        lambda c: "eyJub3QiOiJ5b3VycyJ9.AAAA",
        lambda c: "%00%ff",
        lambda c: c + c,
        lambda c: "W251bGwsIm5vdC1hLXV1aWQiXQ." + c.split(".")[1],
    ],
)
async def test_a_tampered_search_cursor_is_a_400(api: Api, mangle: Any) -> None:
    owner = await api.user(Role.ORGANIZER)
    for n in range(2):
        await api.published_event(owner, title=f"Event {n}")
    cursor = (await api.client.get(f"{API}/events", params={"limit": "1"})).json()["next_cursor"]
    assert cursor

    response = await api.client.get(
        f"{API}/events", params={"limit": "1", "cursor": mangle(cursor)}
    )

    body = assert_problem(response, 400)
    assert [error["field"] for error in body["errors"]] == ["cursor"]


async def test_limit_100_is_the_most(api: Api) -> None:
    assert (await api.client.get(f"{API}/events", params={"limit": "100"})).status_code == 200
    assert_problem(await api.client.get(f"{API}/events", params={"limit": "101"}), 400)


# -- calendar -----------------------------------------------------------------------------


async def test_the_calendar_entry_is_an_rfc_5545_vevent(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(
        owner,
        title="Calendar night",
        description=(
            '<p>Bring a laptop</p><script>alert("x")</script><a href="javascript:x()">l</a>'
        ),
        **_at("08-01", "18"),
    )

    response = await api.client.get(f"{API}/events/{event['id']}/calendar.ics")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    text = response.text
    lines = text.replace("\r\n ", "").split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR"
    assert "BEGIN:VEVENT" in lines
    assert f"UID:{event['id']}@eventapi" in lines
    assert "SUMMARY:Calendar night" in lines
    assert "DTSTART:20350801T180000Z" in lines
    assert "END:VCALENDAR" in lines
    assert "Bring a laptop" in text
    assert "<script" not in text.lower()
    assert "javascript:" not in text.lower()
    assert "<p>" not in text


async def test_the_calendar_of_a_draft_is_hidden_like_the_draft(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    other = await api.user(Role.ORGANIZER, name="other")
    draft = await api.create_event(owner)

    assert_problem(await api.client.get(f"{API}/events/{draft['id']}/calendar.ics"), 404)
    hidden = await api.client.get(f"{API}/events/{draft['id']}/calendar.ics", headers=other.headers)
    assert_problem(hidden, 404)
    own = await api.client.get(f"{API}/events/{draft['id']}/calendar.ics", headers=owner.headers)
    assert own.status_code == 200


async def test_a_cancelled_event_says_so_in_its_calendar_entry(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)
    await api.client.post(f"{API}/events/{event['id']}/cancel", headers=owner.headers)

    response = await api.client.get(f"{API}/events/{event['id']}/calendar.ics")

    assert "STATUS:CANCELLED" in response.text.split("\r\n")


async def test_sort_by_distance_pages_nearest_first_with_distances(api: Api) -> None:
    await catalogue(api)
    near = {"near": "52.52,13.405", "radius_km": "1000", "sort": "distance"}
    expected = ["Python meetup", "Data science day", "Oktoberfest hack night", "Rust workshop"]

    seen: list[tuple[str, float]] = []
    cursor: str | None = None
    for _ in range(len(expected) + 1):
        params = {**near, "limit": "1", **({"cursor": cursor} if cursor else {})}
        response = await api.client.get(f"{API}/events", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [(item["title"], item["distance_km"]) for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [title for title, _ in seen] == expected
    distances = [km for _, km in seen]
    assert distances == sorted(distances)
    assert 1 < distances[0] < 3 and 4 < distances[1] < 6  # Kulturbrauerei, Urania
    assert 480 < distances[2] < 530 and 850 < distances[3] < 900  # Munich, Paris
    assert all(round(km, 3) == km for km in distances)  # whole metres

    by_start = (await api.client.get(f"{API}/events", params={**near, "sort": "starts_at"})).json()[
        "items"
    ]
    assert [item["title"] for item in by_start] == PUBLISHED  # near alone: by start time
    assert all("distance_km" in item for item in by_start)
    plain = (await api.client.get(f"{API}/events")).json()["items"]
    assert plain and all("distance_km" not in item for item in plain)


async def test_a_distance_cursor_is_not_a_start_time_cursor(api: Api) -> None:
    await catalogue(api)
    near = {"near": "52.52,13.405", "radius_km": "1000", "limit": "1"}
    first = (await api.client.get(f"{API}/events", params={**near, "sort": "distance"})).json()

    replayed = await api.client.get(
        f"{API}/events", params={**near, "cursor": first["next_cursor"]}
    )
    assert_problem(replayed, 400)


async def test_include_total_counts_the_matches_only_when_asked(api: Api) -> None:
    await catalogue(api)

    plain = (await api.client.get(f"{API}/events", params={"limit": "1"})).json()
    assert "total" not in plain
    counted = await api.client.get(f"{API}/events", params={"limit": "1", "include": "total"})
    assert counted.status_code == 200, counted.text
    assert counted.json()["total"] == {"value": len(PUBLISHED), "exact": True}
    berlin = await api.client.get(
        f"{API}/events", params={"city": "berlin", "include": "total", "limit": "1"}
    )
    assert berlin.json()["total"] == {"value": 2, "exact": True}
    # The cursor of a counted listing pages on, counting again.
    rest = await api.client.get(
        f"{API}/events",
        params={"limit": "5", "include": "total", "cursor": counted.json()["next_cursor"]},
    )
    assert len(rest.json()["items"]) == len(PUBLISHED) - 1
    assert rest.json()["total"] == {"value": len(PUBLISHED), "exact": True}
    nothing = await api.client.get(f"{API}/events", params={"q": "cobol", "include": "total"})
    assert nothing.json() == {
        "items": [],
        "next_cursor": None,
        "total": {"value": 0, "exact": True},
    }
