"""The calendar feed over HTTP, on SQLite and PostgreSQL: a secret URL, issued,
rotated and revoked by its owner, read anonymously by calendar apps.

Every feed is read with two independent parsers: `icalendar` (which also writes
it, so it alone could agree with its own mistakes) and `vobject`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import icalendar
import pytest
import vobject
from sqlalchemy import func, select

from adapters.sql.tables import calendar_feeds
from domain.users import Role
from tests.e2e.conftest import API, Api, Caller, assert_problem, in_days, rfc3339

FEED = f"{API}/users/me/calendar-feed"
FEED_URL = re.compile(r"^(?P<base>.+)/calendar/(?P<token>[A-Za-z0-9_-]{43})\.ics$")


async def issue(api: Api, caller: Caller) -> str:
    """A new feed URL for `caller` (its path: the test client talks to the app)."""
    response = await api.client.post(FEED, headers=caller.headers)
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"url"}
    assert response.headers["cache-control"] == "no-store"
    url: str = response.json()["url"]
    match = FEED_URL.match(url)
    assert match is not None, url
    assert match["base"] == api.container.settings().http.public_url
    return urlsplit(url).path


async def fetch(api: Api, path: str, **headers: str) -> httpx.Response:
    return await api.client.get(path, headers=headers)  # anonymous: no Authorization


def parse(response: httpx.Response) -> list[dict[str, Any]]:
    """The VEVENTs of a feed, as both parsers read them; they must agree."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.content)
    assert calendar.name == "VCALENDAR"
    assert str(calendar["version"]) == "2.0"
    first = [
        {
            "uid": str(entry["uid"]),
            "start": entry.decoded("dtstart"),
            "end": entry.decoded("dtend"),
            "summary": str(entry["summary"]),
            "status": str(entry["status"]),
        }
        for entry in calendar.walk("VEVENT")
    ]
    other = vobject.readOne(response.text)
    second = [
        {
            "uid": entry.uid.value,
            "start": entry.dtstart.value,
            "end": entry.dtend.value,
            "summary": entry.summary.value,
            "status": entry.status.value,
        }
        for entry in getattr(other, "vevent_list", [])
    ]
    assert first == second
    for entry in first:  # every time in UTC ("...Z"), as the invites write them
        assert entry["start"].utcoffset() == timedelta(0)
        assert entry["end"].utcoffset() == timedelta(0)
    return first


def uid_of_invite(download: httpx.Response) -> str:
    calendar = icalendar.Calendar.from_ical(download.content)
    (entry,) = calendar.walk("VEVENT")
    return str(entry["uid"])


async def test_a_feed_lists_my_upcoming_confirmed_and_waitlisted_events(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, "owner")
    me = await api.user(name="me")
    someone = await api.user(name="someone")
    starts = in_days(10)
    soon = await api.published_event(
        owner,
        title="Soon",
        starts_at=rfc3339(starts),
        ends_at=rfc3339(starts + timedelta(hours=2)),
    )
    full = await api.published_event(
        owner,
        title="Full",
        capacity=1,
        waitlist_enabled=True,
        starts_at=rfc3339(in_days(20)),
        ends_at=rfc3339(in_days(20, hours=1)),
    )
    theirs = await api.published_event(owner, title="Not mine")
    await api.join(someone, full["id"])  # takes the only seat
    await api.join(me, full["id"])  # waitlisted
    await api.join(me, soon["id"])
    await api.join(someone, theirs["id"])
    path = await issue(api, me)

    entries = parse(await fetch(api, path))

    assert [(e["summary"], e["status"]) for e in entries] == [
        ("Soon", "CONFIRMED"),
        ("Full", "TENTATIVE"),
    ]
    assert entries[0]["start"] == starts
    assert entries[0]["end"] == starts + timedelta(hours=2)
    invite = await api.client.get(f"{API}/events/{soon['id']}/calendar.ics")
    assert entries[0]["uid"] == uid_of_invite(invite) == f"{soon['id']}@eventapi"
    assert entries[1]["uid"] == f"{full['id']}@eventapi"
    # Someone else's feed is theirs alone.
    their_entries = parse(await fetch(api, await issue(api, someone)))
    assert sorted(e["summary"] for e in their_entries) == ["Full", "Not mine"]


async def test_leaving_or_a_cancellation_takes_the_event_out(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, "owner")
    me = await api.user(name="me")
    left = await api.published_event(owner, title="Left")
    called_off = await api.published_event(owner, title="Called off")
    kept = await api.published_event(owner, title="Kept")
    for event in (left, called_off, kept):
        await api.join(me, event["id"])
    path = await issue(api, me)
    assert len(parse(await fetch(api, path))) == 3

    gone = await api.client.delete(
        f"{API}/events/{left['id']}/registrations/me", headers=me.headers
    )
    cancelled = await api.client.post(
        f"{API}/events/{called_off['id']}/cancel", json={"reason": "rain"}, headers=owner.headers
    )

    assert (gone.status_code, cancelled.status_code) == (204, 200)
    assert [e["summary"] for e in parse(await fetch(api, path))] == ["Kept"]


async def test_an_empty_feed_is_a_valid_calendar(api: Api) -> None:
    me = await api.user(name="me")
    assert parse(await fetch(api, await issue(api, me))) == []


async def test_the_etag_answers_304_until_the_feed_changes(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, "owner")
    me = await api.user(name="me")
    event = await api.published_event(owner, title="Before")
    await api.join(me, event["id"])
    path = await issue(api, me)

    first = await fetch(api, path)
    etag = first.headers["etag"]
    again = await fetch(api, path, **{"If-None-Match": etag})
    unchanged = await fetch(api, path)  # stable: DTSTAMP is the event's change, no clock
    renamed = await api.client.patch(
        f"{API}/events/{event['id']}", json={"title": "After"}, headers=owner.headers
    )
    changed = await fetch(api, path, **{"If-None-Match": etag})

    assert first.headers["cache-control"] == "private, no-cache"
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert unchanged.headers["etag"] == etag
    assert unchanged.content == first.content
    assert renamed.status_code == 200, renamed.text
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert [e["summary"] for e in parse(changed)] == ["After"]


async def test_rotation_and_revocation_kill_the_old_url(api: Api) -> None:
    me = await api.user(name="me")
    first = await issue(api, me)
    second = await issue(api, me)

    assert first != second
    assert_problem(await fetch(api, first), 404, "/problems/not-found")
    assert (await fetch(api, second)).status_code == 200

    revoked = await api.client.delete(FEED, headers=me.headers)
    again = await api.client.delete(FEED, headers=me.headers)

    assert (revoked.status_code, again.status_code) == (204, 204)
    problem = assert_problem(await fetch(api, second), 404, "/problems/not-found")
    token = second.rsplit("/", 1)[1].removesuffix(".ics")
    assert token not in str(problem)
    assert (await fetch(api, await issue(api, me))).status_code == 200  # a new one works


async def test_only_the_digest_is_stored(api: Api) -> None:
    me = await api.user(name="me")
    path = await issue(api, me)
    token = path.rsplit("/", 1)[1].removesuffix(".ics")

    async def stored() -> list[Any]:
        async with api.container.engine().connect() as connection:
            rows = (await connection.execute(select(calendar_feeds))).mappings().all()
        return [dict(row) for row in rows]

    (row,) = api.run(stored)
    assert str(row["user_id"]) == me.user_id
    assert token not in repr(row)
    assert row["digest"] != token
    assert len(row["digest"]) == 64


@pytest.mark.parametrize(
    "path",
    [
        "/calendar/unknown-token-of-enough-length.ics",
        "/calendar/short.ics",
        "/calendar/no-suffix-but-long-enough-to-be-a-token",
        "/calendar/" + "x" * 300 + ".ics",
        "/calendar/%00%01.ics",
    ],
)
async def test_unknown_or_malformed_feeds_are_404(api: Api, path: str) -> None:
    assert_problem(await api.client.get(path), 404, "/problems/not-found")


async def test_the_feed_routes_need_a_signed_in_caller(api: Api) -> None:
    assert_problem(await api.client.post(FEED), 401)
    assert_problem(await api.client.delete(FEED), 401)


async def test_erasing_the_account_deletes_its_feed(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, "owner")
    me = await api.user(name="me")
    event = await api.published_event(owner)
    await api.join(me, event["id"])
    path = await issue(api, me)

    erased = await api.client.delete(f"{API}/users/me", headers=me.headers)

    assert erased.status_code == 204, erased.text
    assert_problem(await fetch(api, path), 404, "/problems/not-found")

    async def count() -> int:
        async with api.container.engine().connect() as connection:
            return int(
                (
                    await connection.execute(select(func.count()).select_from(calendar_feeds))
                ).scalar_one()
            )

    assert api.run(count) == 0


async def test_a_deactivated_account_has_no_feed_until_reactivated(api: Api) -> None:
    admin = await api.admin()
    me = await api.user(name="me")
    path = await issue(api, me)

    off = await api.client.patch(
        f"{API}/users/{me.user_id}", json={"is_active": False}, headers=admin.headers
    )
    assert off.status_code == 200, off.text
    assert_problem(await fetch(api, path), 404)
    on = await api.client.patch(
        f"{API}/users/{me.user_id}", json={"is_active": True}, headers=admin.headers
    )
    assert on.status_code == 200, on.text
    assert (await fetch(api, path)).status_code == 200


LIMITED = {
    "EVENTAPI_RATE_LIMITS": "on",
    "EVENTAPI_RATE_LIMIT_ANONYMOUS": "6",
}


@pytest.mark.parametrize("settings_overrides", [LIMITED])
async def test_the_feed_counts_against_the_anonymous_limit(api: Api) -> None:
    me = await api.user(name="me")  # (its sign-up and sign-in are anonymous requests too)
    path = await issue(api, me)

    first = await fetch(api, path)
    assert first.status_code == 200
    assert first.headers["ratelimit-policy"] == '"anonymous";q=6;w=60'
    left = int(re.match(r'"anonymous";r=(\d+);', first.headers["ratelimit"])[1])  # type: ignore[index]
    answers = [await fetch(api, path) for _ in range(left + 1)]

    assert [a.status_code for a in answers] == [200] * left + [429]
    assert_problem(answers[-1], 429, "/problems/rate-limited")
    assert answers[-1].headers["ratelimit-policy"] == '"anonymous";q=6;w=60'
    # Signed-in routes are counted per user, so the owner can still manage the feed.
    assert (await api.client.delete(FEED, headers=me.headers)).status_code == 204


async def test_times_are_utc_whatever_the_events_zone(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, "owner")
    me = await api.user(name="me")
    starts = datetime(2035, 7, 1, 16, 30, tzinfo=UTC)
    event = await api.published_event(
        owner,
        timezone="America/New_York",
        starts_at="2035-07-01T12:30:00-04:00",
        ends_at=rfc3339(starts + timedelta(hours=1)),
    )
    await api.join(me, event["id"])
    response = await fetch(api, await issue(api, me))

    (entry,) = parse(response)
    assert entry["start"] == starts
    assert "DTSTART:20350701T163000Z" in response.text.replace("\r\n ", "").split("\r\n")
