"""Unrestricted resource consumption (OWASP API4:2023): page sizes, body sizes,
field lengths, and rate limits counted exactly across two server processes.

Page size: at most 100 on every listing; more (or less than 1) is a 400.
Body: over 1 MiB is a 413 on every route that reads one, whether the length is
declared or the body is streamed in chunks; the limit is on the wire, so a
body just under it that breaks a field limit is a 400 instead. Fields: one
character over each documented maximum is a 400 naming the field; the
maximum itself is accepted.

Rate limits across processes: two real `eventapi serve` processes on loopback
ports share one PostgreSQL database and one Redis (under a key prefix of this
test's own), with `EVENTAPI_RATE_LIMIT_ANONYMOUS=25/60`. 60 requests at once,
30 to each process over real TCP, get exactly 25 answers and 35 refusals, and
the 25 report each remaining count from 24 down to 0 exactly once: one
counter, updated atomically, not one per process.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.users import Role
from tests.e2e.conftest import API, PASSWORD, Api, Caller, assert_problem, event_body
from tests.redis_support import redis_under_prefix, redis_url
from tests.security.conftest import Send, concurrently
from tests.security.processes import (
    Process,
    clean_environment,
    start_eventapi,
    wait_until_ready,
)

E = f"{API}/events"
U = f"{API}/users"
MiB = 1024 * 1024


async def people(api: Api) -> tuple[Caller, Caller, Caller, str]:
    admin = await api.admin()
    organizer = await api.user(Role.ORGANIZER)
    attendee = await api.user()
    event = await api.published_event(organizer)
    await api.join(attendee, event["id"])
    return admin, organizer, attendee, event["id"]


async def test_page_size_is_at_most_100_on_every_listing(api: Api) -> None:
    admin, organizer, attendee, event = await people(api)
    listings = [
        (E, attendee),
        (U, admin),
        (f"{U}/me/registrations", attendee),
        (f"{E}/{event}/attendees", organizer),
    ]

    for path, caller in listings:
        for limit in ("1", "100"):
            response = await api.client.get(path, params={"limit": limit}, headers=caller.headers)
            assert response.status_code == 200, (path, limit, response.text)
        for limit in ("101", "1000", "1000000000000", "0", "-1", "1e3", "ten"):
            response = await api.client.get(path, params={"limit": limit}, headers=caller.headers)
            body = assert_problem(response, 400, "/problems/invalid-input")
            assert body["errors"][0]["field"] == "limit", (path, limit, body)


def oversized_json() -> bytes:
    """Valid JSON, 1 MiB plus one byte."""
    head, tail = b'{"title": "', b'"}'
    return head + b"x" * (MiB + 1 - len(head) - len(tail)) + tail


async def chunks(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """The body as a stream: no Content-Length, chunked on the wire."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def streaming(method: str, path: str, headers: dict[str, str]) -> Send:
    """A request with an oversized body streamed in chunks. (The e2e client cannot
    stream one; `concurrently` sends through httpx's ASGI transport, which can.)"""

    def send(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        return client.request(method, path, content=chunks(oversized_json()), headers=headers)

    return send


async def test_bodies_over_one_mebibyte_are_413_on_every_route_that_reads_one(api: Api) -> None:
    admin, organizer, attendee, event = await people(api)
    json_routes = [
        ("POST", f"{API}/auth/register", None),
        ("PATCH", f"{U}/me", attendee),
        ("POST", U, admin),
        ("PATCH", f"{U}/{attendee.user_id}", admin),
        ("POST", E, organizer),
        ("PATCH", f"{E}/{event}", organizer),
        ("POST", f"{E}/{event}/cancel", organizer),
    ]
    form = b"grant_type=password&username=a%40example.org&password=" + b"p" * MiB
    before = api.snapshot()

    for method, path, caller in json_routes:
        headers = {"Content-Type": "application/json", **(caller.headers if caller else {})}
        declared = await api.client.request(method, path, content=oversized_json(), headers=headers)
        (streamed,) = concurrently(api, [streaming(method, path, headers)])
        assert_problem(declared, 413, "/problems/payload-too-large")
        assert_problem(streamed, 413, "/problems/payload-too-large")
    for path in (f"{API}/auth/token", f"{API}/auth/revoke"):
        headers = {"Content-Type": "application/x-www-form-urlencoded", **attendee.headers}
        response = await api.client.post(path, content=form, headers=headers)
        assert_problem(response, 413, "/problems/payload-too-large")
    # Routes that read no body turn a big one away too (it has fields they do not take).
    joined = await api.client.post(
        f"{E}/{event}/registrations",
        content=oversized_json(),
        headers={"Content-Type": "application/json", **organizer.headers},
    )
    assert joined.status_code in {400, 413}, joined.text
    assert api.snapshot() == before

    # Just under the limit: read in full, then refused for the field that is too long.
    under = await api.client.post(
        E, json={**event_body(), "description": "d" * (MiB - 2048)}, headers=organizer.headers
    )
    body = assert_problem(under, 400, "/problems/invalid-input")
    assert body["errors"][0]["field"] == "description"


#: (route kind, field, maximum): one over is a 400 naming the field, the maximum is fine.
LIMITS = [
    ("event", "title", 200),
    ("event", "description", 10_000),
    ("event", "timezone", 64),
    ("event", "location.venue", 200),
    ("event", "location.address", 500),
    ("event", "location.city", 100),
    ("event", "location.country", 100),
    ("cancel", "reason", 1000),
    ("register", "full_name", 200),
    ("register", "email", 254),
    ("register", "password", 128),
    ("me", "full_name", 200),
]


def with_value(body: dict[str, Any], field: str, value: str) -> dict[str, Any]:
    if field.startswith("location."):
        return {**body, "location": {**body.get("location", {}), field.split(".")[1]: value}}
    return {**body, field: value}


def text_of(field: str, length: int) -> str:
    if field == "email":  # 64 characters before the @ at most, labels of at most 63
        labels, room = [], length - len("a" * 64 + "@org")
        while room > 0:
            labels.append("b" * min(62, room - 1))
            room -= len(labels[-1]) + 1
        return "a" * 64 + "@" + "".join(f"{label}." for label in labels) + "org"
    if field == "timezone":
        return "x" * length  # not a zone either way: the length check comes first
    if field == "location.country":  # must name a country; punctuation is ignored
        return "Germany".ljust(length, ".")
    return "x" * length


async def test_over_long_fields_are_400_naming_the_field(api: Api) -> None:
    _, organizer, attendee, event = await people(api)
    failures: list[str] = []

    for kind, field, maximum in LIMITS:
        for length, accepted in ((maximum, True), (maximum + 1, False)):
            value = text_of(field, length)
            request: tuple[str, str, dict[str, Any], Caller | None]
            if kind == "event":
                request = ("POST", E, with_value(event_body(), field, value), organizer)
            elif kind == "cancel":
                draft = await api.published_event(organizer)
                request = ("POST", f"{E}/{draft['id']}/cancel", {field: value}, organizer)
            elif kind == "register":
                base = {"email": api.email("long"), "password": PASSWORD, "full_name": "Long"}
                request = ("POST", f"{API}/auth/register", with_value(base, field, value), None)
            else:
                request = ("PATCH", f"{U}/me", {field: value}, attendee)
            method, path, body, caller = request
            response = await api.client.request(
                method, path, json=body, headers=caller.headers if caller else {}
            )
            if accepted and field != "timezone":
                if response.status_code >= 400:
                    failures.append(f"{field} of {length}: {response.status_code} {response.text}")
            elif not accepted:
                named = response.status_code == 400 and field in response.text
                if not named:
                    failures.append(f"{field} of {length}: {response.status_code} {response.text}")

    # Query strings and form fields have limits too.
    too_long = {
        "q": "q" * 201,
        "city": "c" * 101,
        "country": "c" * 101,
        "near": "1" * 61,
        "cursor": "c" * 501,
    }
    for name, value in too_long.items():
        response = await api.client.get(E, params={name: value})
        if response.status_code != 400:
            failures.append(f"?{name} of {len(value)}: {response.status_code}")
    token = await api.token(grant_type="password", username="a" * 4097, password="p")
    assert token.status_code == 400
    assert token.json()["error"] == "invalid_request"
    assert not failures, "\n".join(failures)
    assert event


# -- rate limits across two processes --------------------------------------------------------

RATE_LIMIT = re.compile(r'^"anonymous";r=(?P<remaining>\d+);t=(?P<window>\d+)$')
LIMIT = 25
REQUESTS_PER_PROCESS = 30


@pytest.fixture
async def two_servers(
    postgres_url: str, tmp_path: Path
) -> AsyncIterator[tuple[list[Process], str]]:
    """Two `eventapi serve` processes on one PostgreSQL database and one Redis."""
    async with redis_under_prefix() as (_, prefix):
        env = clean_environment(
            ENV="test",
            DATA_DIR=str(tmp_path),
            DATABASE_URL=postgres_url,
            SECRET_KEY="s" * 48,
            BCRYPT_ROUNDS="4",
            REDIS_URL=redis_url(),
            REDIS_KEY_PREFIX=prefix,
            RATE_LIMIT_ANONYMOUS=f"{LIMIT}/60",
            # A loaded machine can stall a Redis call past the default 0.5 s, and the
            # per-process fallback would then answer: this test is about Redis's counts.
            REDIS_TIMEOUT_MS="10000",
            METRICS="off",
        )
        servers = [start_eventapi(f"eventapi-{n}", env, tmp_path) for n in (1, 2)]
        try:
            await asyncio.gather(*(wait_until_ready(server) for server in servers))
            yield servers, prefix
        finally:
            for server in servers:
                server.stop()


@pytest.mark.postgres
async def test_two_processes_sharing_redis_allow_exactly_the_limit(
    two_servers: tuple[list[Process], str],
) -> None:
    servers, prefix = two_servers
    limits = httpx.Limits(max_connections=REQUESTS_PER_PROCESS)
    clients = [
        httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=30, limits=limits)
        for server in servers
    ]
    try:
        burst = await asyncio.gather(
            *(client.get(E) for client in clients for _ in range(REQUESTS_PER_PROCESS))
        )
        # Redis holds the one counter, under this deployment's prefix.
        async with redis_under_prefix() as (redis, _):
            keys = [key async for key in redis.scan_iter(match=f"{prefix}:rl:anonymous:*")]
    finally:
        for client in clients:
            await client.aclose()
        for server in servers:
            server.check_running()

    allowed = [response for response in burst if response.status_code == 200]
    refused = [response for response in burst if response.status_code == 429]
    assert (len(allowed), len(refused)) == (LIMIT, 2 * REQUESTS_PER_PROCESS - LIMIT)
    remaining = []
    for response in allowed:
        assert response.headers["ratelimit-policy"] == f'"anonymous";q={LIMIT};w=60'
        parsed = RATE_LIMIT.match(response.headers["ratelimit"])
        assert parsed is not None, response.headers["ratelimit"]
        remaining.append(int(parsed["remaining"]))
    assert sorted(remaining) == list(range(LIMIT))
    for response in refused:
        assert_problem(response, 429, "/problems/rate-limited")
        assert 1 <= int(response.headers["retry-after"]) <= 60
    # Both processes answered: the split of the 25 is up to the race (one process may
    # take them all, and then every answer of the other is a refusal it could only give
    # from the shared count), but 50 allowed would mean two counts.
    by_port = {response.request.url.port for response in burst}
    assert len(by_port) == 2, by_port
    assert [key.decode() for key in keys] == [f"{prefix}:rl:anonymous:address:127.0.0.1"]
