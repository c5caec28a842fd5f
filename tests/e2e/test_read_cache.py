"""The read cache over HTTP: what anonymous callers read most comes from it, and
no write is ever followed by a stale page.

A counting `EventQueries` (the container's own, wrapped) shows whether a read
reached the database. Every kind of write is followed by an anonymous read of
the event and of a listing, which must show the write. Two instances sharing
one Redis (and one database) see each other's invalidations; an unreachable
Redis serves every read from the database, never an error.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from application.ports.queries import (
    CoOrganizerView,
    EventCriteria,
    EventQueries,
    EventView,
    Page,
    PageRequest,
    Total,
)
from domain.users import Role
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from tests.e2e.conftest import API, BASE_URL, Api, Caller, settings_for
from tests.redis_support import redis_under_prefix, redis_url

LISTING = f"{API}/events?city=Berlin&limit=5"


class CountingEventQueries(EventQueries):
    """The real queries, counting every read that reaches them."""

    def __init__(self, inner: EventQueries) -> None:
        self.inner = inner
        self.reads = 0

    async def get(self, event_id: UUID) -> EventView | None:
        self.reads += 1
        return await self.inner.get(event_id)

    async def search(self, criteria: EventCriteria, page: PageRequest) -> Page[EventView]:
        self.reads += 1
        return await self.inner.search(criteria, page)

    async def count(self, criteria: EventCriteria, *, exact_up_to: int) -> Total:
        self.reads += 1
        return await self.inner.count(criteria, exact_up_to=exact_up_to)

    async def co_organizers(self, event_id: UUID) -> list[CoOrganizerView]:
        self.reads += 1
        return await self.inner.co_organizers(event_id)

    async def checked_in_count(self, event_id: UUID) -> int:
        self.reads += 1
        return await self.inner.checked_in_count(event_id)


def counting(api: Api) -> CountingEventQueries:
    queries = CountingEventQueries(api.container.event_queries())
    api.container.event_queries.override(providers.Object(queries))
    return queries


@contextlib.asynccontextmanager
async def instance(database_url: str, data_dir: Path, **variables: str) -> AsyncIterator[Api]:
    """Another running instance of the service, configured by `EVENTAPI_*` variables."""
    container = build_container(settings_for(database_url, data_dir, **variables))
    app = create_app(container)
    async with AsyncTestClient(app=app, base_url=BASE_URL) as client:
        yield Api(client=client, container=container, app=app, database="")


async def anonymous(api: Api, path: str, **headers: str) -> httpx.Response:
    return await api.client.get(path, headers=headers)


def titles(page: httpx.Response) -> list[str]:
    assert page.status_code == 200, page.text
    return [item["title"] for item in page.json()["items"]]


# -- hits ---------------------------------------------------------------------------------


async def test_a_second_anonymous_read_is_served_from_the_cache_byte_for_byte(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER)
    event = await api.published_event(organizer, title="Cached evening")
    queries = counting(api)
    path = f"{API}/events/{event['id']}"

    first_event, first_page = await anonymous(api, path), await anonymous(api, LISTING)
    assert queries.reads == 2
    again_event, again_page = await anonymous(api, path), await anonymous(api, LISTING)
    reordered = await anonymous(api, f"{API}/events?limit=5&city=Berlin")

    assert queries.reads == 2  # none of these reached the database
    for first, again in [(first_event, again_event), (first_page, again_page)]:
        assert again.status_code == 200
        assert again.content == first.content
        for header in ("content-type", "content-length", "etag"):
            assert again.headers[header] == first.headers[header], header
        assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert reordered.content == first_page.content
    assert first_event.json()["title"] == "Cached evening"
    assert titles(first_page) == ["Cached evening"]
    # The ETag is the one a signed-in reader was given: clients may mix both. (The
    # event's managers read `checked_in_count` too, so theirs is their own; their
    # If-Match takes this one as well.) And the headers are those Litestar sends
    # itself, no more, no fewer (signed-in answers add `Cache-Control: no-store`).
    uncached = await api.get_event(event["id"], await api.user(name="reader"))
    assert again_event.headers["etag"] == uncached.headers["etag"]
    assert set(again_event.headers) == set(uncached.headers) - {"cache-control"}
    signed_in_page = await api.client.get(LISTING, headers=uncached.request.headers)
    assert set(again_page.headers) == set(signed_in_page.headers) - {"cache-control"} | {"etag"}


async def test_if_none_match_is_answered_304_from_the_cache(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER)
    event = await api.published_event(organizer)
    path = f"{API}/events/{event['id']}"
    reader = await api.user(name="reader")  # not a manager: no `checked_in_count`
    etag = (await api.get_event(event["id"], reader)).headers["etag"]
    queries = counting(api)

    on_a_miss = await anonymous(api, path, **{"If-None-Match": etag})
    on_a_hit = await anonymous(api, path, **{"If-None-Match": f'"other", W/{etag}'})
    changed_elsewhere = await anonymous(api, path, **{"If-None-Match": '"other"'})
    page = await anonymous(api, LISTING)
    page_again = await anonymous(api, LISTING, **{"If-None-Match": page.headers["etag"]})

    assert [on_a_miss.status_code, on_a_hit.status_code] == [304, 304]
    assert on_a_miss.content == on_a_hit.content == b""
    assert on_a_miss.headers["etag"] == on_a_hit.headers["etag"] == etag
    assert changed_elsewhere.status_code == 200
    assert changed_elsewhere.headers["etag"] == etag
    assert page_again.status_code == 304
    assert queries.reads == 2  # the event once, the page once


async def test_head_is_answered_from_the_cache_without_a_body(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER)
    event = await api.published_event(organizer)
    path = f"{API}/events/{event['id']}"
    full = await anonymous(api, path)
    queries = counting(api)

    head = await api.client.head(path)

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == full.headers["content-length"]
    assert queries.reads == 0


async def test_signed_in_reads_and_uncommon_queries_always_reach_the_database(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER)
    event = await api.published_event(organizer)
    queries = counting(api)

    for _ in range(2):
        assert (await api.get_event(event["id"], organizer)).status_code == 200
        signed_in = await api.client.get(LISTING, headers=organizer.headers)
        assert signed_in.status_code == 200
        assert "etag" not in signed_in.headers
        assert (await anonymous(api, f"{API}/events?q=evening")).status_code == 200
        first_page = await anonymous(api, LISTING)
        cursor = first_page.json()["next_cursor"]
        assert cursor is None
        assert (await anonymous(api, f"{API}/events?city=Berlin&city=Paris")).status_code == 200

    # 2 x (get and the organizer's checked_in_count, signed-in page, search, repeated
    # filter) + the cacheable page once.
    assert queries.reads == 11


async def test_errors_are_never_cached(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER)
    draft = await api.create_event(organizer, title="Not yet")
    path = f"{API}/events/{draft['id']}"

    assert (await anonymous(api, path)).status_code == 404
    assert (await anonymous(api, f"{API}/events?limit=0")).status_code == 400
    await api.publish(organizer, draft["id"])

    assert (await anonymous(api, path)).status_code == 200
    assert (await anonymous(api, f"{API}/events?limit=0")).status_code == 400


# -- every write is seen by the next read -------------------------------------------------


Write = Callable[[Api, Caller, dict[str, Any]], Awaitable[None]]


async def ok(response: httpx.Response) -> None:
    assert response.status_code in {200, 201, 204}, response.text


async def publish(api: Api, organizer: Caller, event: dict[str, Any]) -> None:
    await api.publish(organizer, event["id"])


async def revise(api: Api, organizer: Caller, event: dict[str, Any]) -> None:
    await ok(
        await api.client.patch(
            f"{API}/events/{event['id']}", json={"title": "Revised"}, headers=organizer.headers
        )
    )


async def resize(api: Api, organizer: Caller, event: dict[str, Any]) -> None:
    await ok(
        await api.client.patch(
            f"{API}/events/{event['id']}", json={"capacity": 99}, headers=organizer.headers
        )
    )


async def cancel(api: Api, organizer: Caller, event: dict[str, Any]) -> None:
    await ok(await api.client.post(f"{API}/events/{event['id']}/cancel", headers=organizer.headers))


async def delete(api: Api, organizer: Caller, event: dict[str, Any]) -> None:
    await ok(await api.client.delete(f"{API}/events/{event['id']}", headers=organizer.headers))


async def join(api: Api, organizer: Caller, event: dict[str, Any]) -> None:
    await api.join(await api.user(), event["id"])


async def leave(api: Api, organizer: Caller, event: dict[str, Any]) -> None:
    await ok(
        await api.client.delete(
            f"{API}/events/{event['id']}/registrations/me", headers=event["attendee"].headers
        )
    )


async def remove_attendee(api: Api, organizer: Caller, event: dict[str, Any]) -> None:
    registration = event["registration"]
    await ok(
        await api.client.delete(
            f"{API}/events/{event['id']}/registrations/{registration['id']}",
            headers=organizer.headers,
        )
    )


async def attendee_closes_account(api: Api, organizer: Caller, event: dict[str, Any]) -> None:
    await ok(await api.client.delete(f"{API}/users/me", headers=event["attendee"].headers))


async def organizer_renamed(api: Api, organizer: Caller, event: dict[str, Any]) -> None:
    await ok(
        await api.client.patch(
            f"{API}/users/me", json={"full_name": "Renamed Organizer"}, headers=organizer.headers
        )
    )


#: (write, what an anonymous reader of the event sees after it, the listing's titles)
WRITES: dict[str, tuple[Write, Callable[[httpx.Response], object], list[str]]] = {
    "publish": (publish, lambda r: r.json()["status"], ["Watched"]),
    "revise": (revise, lambda r: r.json()["title"], ["Revised"]),
    "capacity": (resize, lambda r: r.json()["available_seats"], ["Watched"]),
    "cancel": (cancel, lambda r: r.json()["status"], []),
    "delete": (delete, lambda r: r.status_code, []),
    "join": (join, lambda r: r.json()["attendee_count"], ["Watched"]),
    "leave": (leave, lambda r: r.json()["attendee_count"], ["Watched"]),
    "remove": (remove_attendee, lambda r: r.json()["attendee_count"], ["Watched"]),
    "account-closed": (attendee_closes_account, lambda r: r.json()["attendee_count"], ["Watched"]),
    "organizer-renamed": (
        organizer_renamed,
        lambda r: r.json()["organizer"]["full_name"],
        ["Watched"],
    ),
}
EXPECTED: dict[str, object] = {
    "publish": "published",
    "revise": "Revised",
    "capacity": 98,
    "cancel": "cancelled",
    "delete": 404,
    "join": 2,
    "leave": 0,
    "remove": 0,
    "account-closed": 0,
    "organizer-renamed": "Renamed Organizer",
}


@pytest.mark.parametrize("kind", sorted(WRITES))
async def test_every_write_is_seen_by_the_next_anonymous_read(api: Api, kind: str) -> None:
    write, seen, listed = WRITES[kind]
    organizer = await api.user(Role.ORGANIZER)
    event = await api.create_event(organizer, title="Watched")
    path = f"{API}/events/{event['id']}"
    if kind != "publish":
        await api.publish(organizer, event["id"])
        attendee = await api.user()
        event["registration"] = await api.join(attendee, event["id"])
        event["attendee"] = attendee
    queries = counting(api)
    before = [await anonymous(api, path), await anonymous(api, LISTING)]
    cached = [await anonymous(api, path), await anonymous(api, LISTING)]
    assert [r.content for r in cached] == [r.content for r in before]
    reads = queries.reads

    await write(api, organizer, event)

    after = await anonymous(api, path)
    assert seen(after) == EXPECTED[kind]
    assert titles(await anonymous(api, LISTING)) == listed
    assert queries.reads > reads


# -- configurations -----------------------------------------------------------------------


async def test_a_ttl_of_zero_turns_the_cache_off(database: tuple[str, str], tmp_path: Path) -> None:
    _, url = database
    async with instance(url, tmp_path / "data", EVENTAPI_READ_CACHE_TTL="0") as api:
        organizer = await api.user(Role.ORGANIZER)
        event = await api.published_event(organizer)
        queries = counting(api)
        for _ in range(2):
            assert (await anonymous(api, f"{API}/events/{event['id']}")).status_code == 200
            assert "etag" not in (await anonymous(api, LISTING)).headers
        assert queries.reads == 4


async def test_cached_answers_still_count_against_the_rate_limits(
    database: tuple[str, str], tmp_path: Path
) -> None:
    _, url = database
    async with instance(
        url, tmp_path / "data", EVENTAPI_RATE_LIMITS="on", EVENTAPI_RATE_LIMIT_ANONYMOUS="3"
    ) as api:
        statuses = [(await anonymous(api, LISTING)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


@pytest.fixture
async def shared_redis() -> AsyncIterator[tuple[Redis, dict[str, str]]]:
    async with redis_under_prefix() as (client, prefix):
        yield client, {"EVENTAPI_REDIS_URL": redis_url(), "EVENTAPI_REDIS_KEY_PREFIX": prefix}


async def test_two_instances_sharing_redis_see_each_others_invalidations(
    database: tuple[str, str], tmp_path: Path, shared_redis: tuple[Redis, dict[str, str]]
) -> None:
    client, variables = shared_redis
    _, url = database
    async with (
        instance(url, tmp_path / "one", **variables) as one,
        instance(url, tmp_path / "two", **variables) as two,
    ):
        organizer = await two.user(Role.ORGANIZER)
        event = await two.published_event(organizer, title="Shared")
        path = f"{API}/events/{event['id']}"
        reads_one, reads_two = counting(one), counting(two)

        assert (await anonymous(one, path)).json()["attendee_count"] == 0
        assert titles(await anonymous(one, LISTING)) == ["Shared"]
        assert (await anonymous(two, path)).json()["attendee_count"] == 0  # one's entry
        assert titles(await anonymous(two, LISTING)) == ["Shared"]
        assert (reads_one.reads, reads_two.reads) == (2, 0)

        await two.join(await two.user(), event["id"])  # written through two...

        assert (await anonymous(one, path)).json()["attendee_count"] == 1  # ...seen by one
        page = await anonymous(one, LISTING)
        assert page.json()["items"][0]["attendee_count"] == 1
        assert (await anonymous(two, path)).json()["attendee_count"] == 1
        assert (reads_one.reads, reads_two.reads) == (4, 0)
        prefix = variables["EVENTAPI_REDIS_KEY_PREFIX"]
        assert await client.exists(f"{prefix}:rc:event:{event['id']}") == 1


async def test_an_unreachable_redis_serves_every_read_from_the_database(
    database: tuple[str, str], tmp_path: Path
) -> None:
    _, url = database
    async with instance(url, tmp_path / "data", EVENTAPI_REDIS_URL="redis://127.0.0.1:1/0") as api:
        organizer = await api.user(Role.ORGANIZER)
        event = await api.published_event(organizer)
        path = f"{API}/events/{event['id']}"
        queries = counting(api)
        first, second = await anonymous(api, path), await anonymous(api, path)
        await api.join(await api.user(), event["id"])
        after = await anonymous(api, path)
        page = await anonymous(api, LISTING)

    assert [first.status_code, second.status_code] == [200, 200]
    assert after.json()["attendee_count"] == 1
    assert titles(page) == [event["title"]]
    assert queries.reads == 4


async def test_a_get_with_a_body_is_refused_even_when_its_answer_is_cached(api: Api) -> None:
    assert (await anonymous(api, LISTING)).status_code == 200

    with_body = await api.client.request("GET", LISTING, json={"status": "draft"})

    assert with_body.status_code == 400


async def test_a_browser_origin_still_gets_its_cors_headers(
    database: tuple[str, str], tmp_path: Path
) -> None:
    _, url = database
    origin = "https://app.example.org"
    async with instance(url, tmp_path / "data", EVENTAPI_CORS_ORIGINS=origin) as api:
        assert (await anonymous(api, LISTING)).status_code == 200  # now cached
        from_a_page = await anonymous(api, LISTING, Origin=origin)

    assert from_a_page.status_code == 200
    assert from_a_page.headers["access-control-allow-origin"] == origin
    assert "etag" in from_a_page.headers["access-control-expose-headers"].lower()
