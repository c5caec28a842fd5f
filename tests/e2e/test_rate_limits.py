"""Rate limits through the real app: the contract's policies, their headers and
429s, keyed per user or per client address, trusted proxies, the routes that
are never limited, EVENTAPI_RATE_LIMITS=off, and two app instances sharing one
limit through Redis.

Each test starts the service as production does (`build_container(Settings.from_environment(...))`,
`create_app`) on a fresh SQLite copy, with small policy numbers so that exact
counts take a handful of requests. The ASGI peer address is set per request by
a shim outside the app (`Peer`), standing in for the TCP peer a server sees.
People are created through the container's use cases, so that setting up a test
spends none of the limits it is about to measure. The module stands on its own
(tests/conftest.py's SQLite template aside): the other e2e suites run with rate
limits off.

Redis tests use `EVENTAPI_TEST_REDIS_URL` (default redis://127.0.0.1:6379/15)
under a fresh key prefix, deleted afterwards; they fail if Redis is unreachable.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

import httpx
import pytest
from dependency_injector import providers
from litestar import Litestar
from litestar.enums import ScopeType
from litestar.testing import AsyncTestClient
from litestar.types import Receive, Scope, Send
from redis.asyncio import Redis

from adapters.memory.rate_limiter import MemoryRateLimiter
from application.ports.rate_limiter import RateLimiter
from application.use_cases.sign_in import SignInCommand
from application.use_cases.sign_up import SignUpCommand
from domain.users import Role
from entrypoints.container import Container, build_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.redis_support import redis_under_prefix, redis_url

T = TypeVar("T")

API = "/api/v1"
EVENTS = f"{API}/events"
BASE_URL = "http://127.0.0.1:8000"  # loopback: nothing could leave the machine by mistake
PASSWORD = "plenty of words for a passphrase"
RATE_LIMIT = re.compile(r'^"(?P<name>[a-z-]+)";r=(?P<r>\d+);t=(?P<t>\d+)$')


@dataclass
class Peer:
    """The address the next requests come from, as the ASGI server would report it."""

    host: str = "192.0.2.10"


@dataclass(frozen=True)
class Caller:
    user_id: str
    email: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass
class Service:
    """One running instance of the service, and what the tests do with it."""

    client: AsyncTestClient[Litestar]
    container: Container
    peer: Peer
    database_url: str
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def run(self, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run `work()` on the app's own loop (the test client runs it in a helper thread)."""
        result: T = self.client.blocking_portal.call(work)
        return result

    def email(self, name: str) -> str:
        return f"{name}.{next(self._numbers)}.{uuid4().hex[:8]}@example.org"

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def token(self, **form: str) -> httpx.Response:
        return await self.client.post(f"{API}/auth/token", data=form)

    async def register(self, email: str) -> httpx.Response:
        body = {"email": email, "password": PASSWORD, "full_name": "New Person"}
        return await self.client.post(f"{API}/auth/register", json=body)

    async def account(self, name: str, role: Role = Role.ATTENDEE) -> Caller:
        """An account opened and signed in through the use cases, not over HTTP."""
        email = self.email(name)
        sign_up = self.container.sign_up()
        sign_in = self.container.sign_in()
        command = SignUpCommand(email=email, password=PASSWORD, full_name=f"{name} Person")
        user = self.run(lambda: sign_up.open_account(command, role))
        pair = self.run(lambda: sign_in.execute(SignInCommand(email=email, password=PASSWORD)))
        return Caller(user_id=str(user.id), email=email, access_token=pair.access_token)

    async def published_event(self, owner: Caller) -> dict[str, Any]:
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
        body = {
            "title": "Rate-limited evening",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "timezone": "Europe/Berlin",
            "capacity": 10,
            "location": {"venue": "Hall", "address": "Street 1", "city": "Berlin", "country": "DE"},
        }
        created = await self.client.post(EVENTS, json=body, headers=owner.headers)
        assert created.status_code == 201, created.text
        event_id = created.json()["id"]
        published = await self.client.patch(
            f"{EVENTS}/{event_id}", json={"status": "published"}, headers=owner.headers
        )
        assert published.status_code == 200, published.text
        event: dict[str, Any] = published.json()
        return event


@dataclass
class Launcher:
    stack: AsyncExitStack
    template: Path
    tmp_path: Path
    started: list[Service] = field(default_factory=list)

    async def start(
        self,
        database_url: str | None = None,
        limiter: RateLimiter | None = None,
        /,
        **variables: str,
    ) -> Service:
        """Another running instance of the service (on its own database unless given one),
        configured by `EVENTAPI_*` `variables`, counting with `limiter` when one is given."""
        index = len(self.started)
        if database_url is None:
            path = self.tmp_path / f"eventapi-{index}.db"
            shutil.copyfile(self.template, path)
            database_url = f"sqlite+aiosqlite:///{path}"
        environment = {
            "EVENTAPI_DATABASE_URL": database_url,
            "EVENTAPI_DATA_DIR": str(self.tmp_path / f"data-{index}"),
            "EVENTAPI_SECRET_KEY": "x" * 48,
            "EVENTAPI_BCRYPT_ROUNDS": "4",
            "EVENTAPI_ENV": "test",
            **variables,
        }
        container = build_container(Settings.from_environment(environment))
        if limiter is not None:
            container.limiter.override(providers.Object(limiter))
        app = create_app(container)
        peer = Peer()
        _set_peer(app, peer)
        client = await self.stack.enter_async_context(AsyncTestClient(app=app, base_url=BASE_URL))
        service = Service(client, container, peer, database_url)
        self.started.append(service)
        return service


def assert_problem(response: httpx.Response, status: int, type_: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"] == type_
    assert body["title"]


def _set_peer(app: Litestar, peer: Peer) -> None:
    inner = app.asgi_handler

    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            scope["client"] = (peer.host, 40000)
        await inner(scope, receive, send)

    app.asgi_handler = handler


@pytest.fixture
async def launch(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Launcher]:
    async with AsyncExitStack() as stack:
        yield Launcher(stack, sqlite_template, tmp_path)


@pytest.fixture
async def shared_redis() -> AsyncIterator[tuple[Redis, dict[str, str]]]:
    """The test Redis, and the variables that point an instance at it under a fresh prefix."""
    async with redis_under_prefix() as (client, prefix):
        yield client, {"EVENTAPI_REDIS_URL": redis_url(), "EVENTAPI_REDIS_KEY_PREFIX": prefix}


def limits(response: httpx.Response) -> tuple[str, str]:
    """(RateLimit-Policy, RateLimit) of a response."""
    return response.headers["ratelimit-policy"], response.headers["ratelimit"]


def remaining(response: httpx.Response) -> int:
    parsed = RATE_LIMIT.match(response.headers["ratelimit"])
    assert parsed is not None, response.headers["ratelimit"]
    return int(parsed["r"])


def assert_rate_limited(response: httpx.Response, policy: str, retry_after: int) -> None:
    """A 429 problem with Retry-After, naming `policy` in both RateLimit headers."""
    assert_problem(response, 429, "/problems/rate-limited")
    assert response.headers["retry-after"] == str(retry_after)
    assert response.headers["ratelimit"] == f'"{policy}";r=0;t={retry_after}'
    assert response.headers["ratelimit-policy"].startswith(f'"{policy}";q=')
    assert response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"


# -- exact counts and headers --------------------------------------------------------------


async def test_anonymous_callers_get_exactly_their_limit_per_address(launch: Launcher) -> None:
    # A stopped clock: the reset time (`t`) must not depend on how loaded the machine is.
    stopped = MemoryRateLimiter(time_source=lambda: 1000.0)
    service = await launch.start(None, stopped, EVENTAPI_RATE_LIMIT_ANONYMOUS="5")

    responses = [await service.get(EVENTS) for _ in range(6)]

    assert [r.status_code for r in responses] == [200] * 5 + [429]
    assert [limits(r) for r in responses[:5]] == [
        ('"anonymous";q=5;w=60', f'"anonymous";r={left};t=60') for left in (4, 3, 2, 1, 0)
    ]
    assert_rate_limited(responses[5], "anonymous", 60)
    assert responses[5].headers["ratelimit-policy"] == '"anonymous";q=5;w=60'

    service.peer.host = "192.0.2.11"  # another address has a limit of its own
    other = await service.get(EVENTS)
    assert other.status_code == 200
    assert limits(other) == ('"anonymous";q=5;w=60', '"anonymous";r=4;t=60')


async def test_every_limited_response_carries_the_headers_errors_included(
    launch: Launcher,
) -> None:
    service = await launch.start(EVENTAPI_RATE_LIMIT_ANONYMOUS="50")

    responses = [
        await service.get(f"{API}/nothing-here"),  # 404 before routing finds anything
        await service.client.delete(EVENTS),  # 405
        await service.get(f"{API}/users/me"),  # 401
        await service.client.post(
            f"{API}/auth/register", content=b"x", headers={"content-type": "text/x"}
        ),
    ]
    assert [r.status_code for r in responses] == [404, 405, 401, 415]
    # The register call reports its own, tighter policy (10 an hour), the most restrictive.
    assert [remaining(r) for r in responses] == [49, 48, 47, 9]


async def test_signed_in_callers_are_limited_per_user_wherever_they_call_from(
    launch: Launcher,
) -> None:
    service = await launch.start(EVENTAPI_RATE_LIMIT_USER="3", EVENTAPI_RATE_LIMIT_ANONYMOUS="2")
    alice, bob = await service.account("alice"), await service.account("bob")

    seen = []
    for host in ("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"):
        service.peer.host = host
        seen.append(await service.get(f"{API}/users/me", headers=alice.headers))

    assert [r.status_code for r in seen] == [200, 200, 200, 429]
    assert [limits(r) for r in seen[:3]] == [
        ('"user";q=3;w=60', f'"user";r={left};t=60') for left in (2, 1, 0)
    ]
    assert_rate_limited(seen[3], "user", 60)
    # Bob, and anonymous callers, from the very same address are counted apart.
    bobs = await service.get(f"{API}/users/me", headers=bob.headers)
    assert limits(bobs) == ('"user";q=3;w=60', '"user";r=2;t=60')
    anonymous = await service.get(EVENTS)
    assert limits(anonymous) == ('"anonymous";q=2;w=60', '"anonymous";r=1;t=60')


async def test_an_invalid_token_is_limited_as_anonymous_by_address(launch: Launcher) -> None:
    service = await launch.start(EVENTAPI_RATE_LIMIT_ANONYMOUS="2", EVENTAPI_RATE_LIMIT_USER="100")
    alice = await service.account("alice")
    forged = alice.access_token[:-4] + (
        "AAAA" if not alice.access_token.endswith("AAAA") else "BBBB"
    )

    responses = [
        await service.get(f"{API}/users/me", headers={"Authorization": f"Bearer {forged}"}),
        await service.get(f"{API}/users/me", headers={"Authorization": "Bearer nonsense"}),
        await service.get(f"{API}/users/me", headers={"Authorization": "Basic YTpi"}),
    ]

    assert [r.status_code for r in responses] == [401, 401, 429]
    assert [limits(r)[1] for r in responses[:2]] == [
        '"anonymous";r=1;t=60',
        '"anonymous";r=0;t=60',
    ]


async def test_the_token_endpoint_is_limited_per_address_and_the_tighter_policy_is_shown(
    launch: Launcher,
) -> None:
    service = await launch.start(EVENTAPI_RATE_LIMIT_TOKEN="3", EVENTAPI_RATE_LIMIT_ANONYMOUS="10")
    form = {"grant_type": "password", "username": "nobody@example.org", "password": "wrong" * 3}

    responses = [await service.token(**form) for _ in range(4)]

    assert [r.status_code for r in responses] == [400, 400, 400, 429]
    assert [limits(r) for r in responses[:3]] == [
        ('"token";q=3;w=60', f'"token";r={left};t=60') for left in (2, 1, 0)
    ]
    assert_rate_limited(responses[3], "token", 60)
    # Both policies counted the three allowed requests; the refused one counted nowhere.
    after = await service.get(EVENTS)
    assert limits(after) == ('"anonymous";q=10;w=60', '"anonymous";r=6;t=60')
    # Another address may still sign in.
    service.peer.host = "192.0.2.99"
    assert (await service.token(**form)).status_code == 400


async def test_registration_is_limited_per_address_per_hour(launch: Launcher) -> None:
    service = await launch.start(EVENTAPI_RATE_LIMIT_REGISTER="2")

    responses = [await service.register(service.email("new")) for _ in range(3)]

    assert [r.status_code for r in responses] == [201, 201, 429]
    assert [limits(r) for r in responses[:2]] == [
        ('"register";q=2;w=3600', '"register";r=1;t=3600'),
        ('"register";q=2;w=3600', '"register";r=0;t=3600'),
    ]
    assert_rate_limited(responses[2], "register", 3600)


async def test_a_replayed_request_is_counted_and_limited_like_any(launch: Launcher) -> None:
    """An `Idempotency-Key` replay is a request: it spends the limits, and past them
    it is a 429, not the stored answer."""
    service = await launch.start(EVENTAPI_RATE_LIMIT_REGISTER="2")
    body = {"email": service.email("once"), "password": PASSWORD, "full_name": "Once"}
    keyed = {"Idempotency-Key": "sign-up-once"}

    responses = [
        await service.client.post(f"{API}/auth/register", json=body, headers=keyed)
        for _ in range(3)
    ]

    assert [r.status_code for r in responses] == [201, 201, 429]
    assert responses[1].headers["Idempotent-Replayed"] == "true"
    assert limits(responses[1]) == ('"register";q=2;w=3600', '"register";r=0;t=3600')
    assert "Idempotent-Replayed" not in responses[2].headers
    assert_rate_limited(responses[2], "register", 3600)


async def test_joining_events_is_limited_per_user(launch: Launcher) -> None:
    service = await launch.start(EVENTAPI_RATE_LIMIT_JOIN="2")
    organizer = await service.account("olga", Role.ORGANIZER)
    events = [await service.published_event(organizer) for _ in range(3)]
    attendee, other = await service.account("ann"), await service.account("otto")

    joins = [
        await service.client.post(f"{EVENTS}/{e['id']}/registrations", headers=attendee.headers)
        for e in events
    ]

    assert [r.status_code for r in joins] == [201, 201, 429]
    assert [limits(r) for r in joins[:2]] == [
        ('"join";q=2;w=60', '"join";r=1;t=60'),
        ('"join";q=2;w=60', '"join";r=0;t=60'),
    ]
    assert_rate_limited(joins[2], "join", 60)
    # The refused join changed nothing; someone else may still join that event.
    unchanged = await service.get(f"{EVENTS}/{events[2]['id']}", headers=organizer.headers)
    assert unchanged.json()["attendee_count"] == 0
    theirs = await service.client.post(
        f"{EVENTS}/{events[2]['id']}/registrations", headers=other.headers
    )
    assert theirs.status_code == 201
    # Other requests by the same user are not affected by the join policy.
    assert (await service.get(f"{API}/users/me", headers=attendee.headers)).status_code == 200


async def test_exports_are_limited_per_user_per_hour(launch: Launcher) -> None:
    service = await launch.start(EVENTAPI_RATE_LIMIT_EXPORT="2")
    ann, otto = await service.account("ann"), await service.account("otto")

    exports = [await service.get(f"{API}/users/me/export", headers=ann.headers) for _ in range(3)]

    assert [r.status_code for r in exports] == [200, 200, 429]
    assert [limits(r) for r in exports[:2]] == [
        ('"export";q=2;w=3600', '"export";r=1;t=3600'),
        ('"export";q=2;w=3600', '"export";r=0;t=3600'),
    ]
    assert_rate_limited(exports[2], "export", 3600)
    # Per user: someone else still exports; the same user's other requests are not affected.
    assert (await service.get(f"{API}/users/me/export", headers=otto.headers)).status_code == 200
    assert (await service.get(f"{API}/users/me", headers=ann.headers)).status_code == 200


async def test_password_checks_are_limited_per_account(launch: Launcher) -> None:
    service = await launch.start(
        EVENTAPI_RATE_LIMIT_PASSWORD_CHECKS="2", EVENTAPI_RATE_LIMIT_TOKEN="100"
    )
    alice = await service.account("alice")  # one check spent signing in
    wrong = {"grant_type": "password", "username": alice.email, "password": "x" * 20}

    responses = [await service.token(**wrong) for _ in range(2)]

    assert [r.status_code for r in responses] == [400, 429]
    assert_problem(responses[1], 429, "/problems/rate-limited")
    assert int(responses[1].headers["retry-after"]) == 15 * 60
    assert "ratelimit" in responses[1].headers


# -- client address and trusted proxies ----------------------------------------------------


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(launch: Launcher) -> None:
    service = await launch.start(
        EVENTAPI_RATE_LIMIT_ANONYMOUS="2", EVENTAPI_TRUSTED_PROXIES="10.0.0.0/8"
    )
    service.peer.host = "203.0.113.9"  # not a trusted proxy

    responses = [
        await service.get(EVENTS, headers={"X-Forwarded-For": f"198.51.100.{n}"}) for n in range(3)
    ]

    assert [r.status_code for r in responses] == [200, 200, 429]


async def test_forwarded_for_is_ignored_when_no_proxy_is_trusted(launch: Launcher) -> None:
    service = await launch.start(EVENTAPI_RATE_LIMIT_ANONYMOUS="2")
    service.peer.host = "10.0.0.2"

    responses = [
        await service.get(EVENTS, headers={"X-Forwarded-For": f"198.51.100.{n}"}) for n in range(3)
    ]

    assert [r.status_code for r in responses] == [200, 200, 429]


async def test_behind_trusted_proxies_the_right_most_untrusted_address_is_the_client(
    launch: Launcher,
) -> None:
    service = await launch.start(
        EVENTAPI_RATE_LIMIT_ANONYMOUS="2", EVENTAPI_TRUSTED_PROXIES="10.0.0.0/8,192.0.2.1"
    )
    service.peer.host = "10.1.2.3"

    async def via(chain: str) -> int:
        return (await service.get(EVENTS, headers={"X-Forwarded-For": chain})).status_code

    # The client sends whatever it likes on the left; our proxies append on the right.
    assert await via("1.1.1.1, 203.0.113.50, 10.0.0.7") == 200
    assert await via("8.8.8.8, 203.0.113.50, 192.0.2.1, 10.0.0.7") == 200
    assert await via("203.0.113.50") == 429  # the same client, however it dresses up
    assert await via("203.0.113.51, 10.0.0.7") == 200  # a different client
    # Several header lines are one list, in order.
    response = await service.get(
        EVENTS, headers=[("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "203.0.113.51")]
    )
    assert response.status_code == 200
    assert limits(response)[1] == '"anonymous";r=0;t=60'
    # Only proxies in the chain: the left-most hop is as far as can be seen.
    assert await via("10.9.9.9, 10.0.0.7") == 200


# -- not limited -----------------------------------------------------------------------------


async def test_health_metrics_and_docs_are_never_limited(launch: Launcher) -> None:
    service = await launch.start(EVENTAPI_RATE_LIMIT_ANONYMOUS="1")
    paths = [
        "/health/live",
        "/health/ready",
        "/metrics",
        "/schema/openapi.json",
        "/schema/swagger",
        "/schema/redoc",
        "/schema/scalar",
    ]

    for _ in range(3):
        for path in paths:
            response = await service.get(path)
            assert response.status_code != 429, path
            assert "ratelimit" not in response.headers, path

    # None of them spent the single request this address has.
    first = await service.get(EVENTS)
    assert limits(first)[1] == '"anonymous";r=0;t=60'
    assert (await service.get(EVENTS)).status_code == 429


async def test_rate_limits_off_disables_every_limit(launch: Launcher) -> None:
    service = await launch.start(
        EVENTAPI_RATE_LIMITS="off",
        EVENTAPI_RATE_LIMIT_ANONYMOUS="1",
        EVENTAPI_RATE_LIMIT_TOKEN="1",
        EVENTAPI_RATE_LIMIT_REGISTER="1",
        EVENTAPI_RATE_LIMIT_PASSWORD_CHECKS="1",
    )
    alice = await service.account("alice")
    wrong = {"grant_type": "password", "username": alice.email, "password": "x" * 20}

    listed = [await service.get(EVENTS) for _ in range(5)]
    tokens = [await service.token(**wrong) for _ in range(5)]
    registered = [await service.register(service.email("new")) for _ in range(3)]

    assert [r.status_code for r in listed] == [200] * 5
    assert [r.status_code for r in tokens] == [400] * 5
    assert [r.status_code for r in registered] == [201] * 3
    assert not any("ratelimit" in r.headers for r in [*listed, *tokens, *registered])


# -- shared through Redis ----------------------------------------------------------------------


async def test_two_instances_sharing_redis_enforce_one_limit_exactly(
    launch: Launcher, shared_redis: tuple[Redis, dict[str, str]]
) -> None:
    _, redis_settings = shared_redis
    first = await launch.start(EVENTAPI_RATE_LIMIT_ANONYMOUS="6", **redis_settings)
    second = await launch.start(
        first.database_url, EVENTAPI_RATE_LIMIT_ANONYMOUS="6", **redis_settings
    )

    alternating = [await (first if n % 2 == 0 else second).get(EVENTS) for n in range(8)]

    assert [r.status_code for r in alternating] == [200] * 6 + [429] * 2
    assert [remaining(r) for r in alternating] == [5, 4, 3, 2, 1, 0, 0, 0]

    # And at once, from another address: 30 requests over both instances, 6 get through.
    first.peer.host = second.peer.host = "192.0.2.77"
    burst = await asyncio.gather(*(s.get(EVENTS) for s in [first, second] * 15))
    assert sorted(r.status_code for r in burst) == [200] * 6 + [429] * 24
    assert sorted(remaining(r) for r in burst if r.status_code == 200) == [0, 1, 2, 3, 4, 5]


async def test_the_password_check_limit_is_shared_through_redis(
    launch: Launcher, shared_redis: tuple[Redis, dict[str, str]]
) -> None:
    _, redis_settings = shared_redis
    settings = {
        "EVENTAPI_RATE_LIMIT_PASSWORD_CHECKS": "3",
        "EVENTAPI_RATE_LIMIT_TOKEN": "100",
        **redis_settings,
    }
    first = await launch.start(**settings)
    second = await launch.start(first.database_url, **settings)
    alice = await first.account("alice")  # check 1 of 3
    wrong = {"grant_type": "password", "username": alice.email, "password": "x" * 20}

    assert (await second.token(**wrong)).status_code == 400  # check 2
    assert (await first.token(**wrong)).status_code == 400  # check 3
    refused = await second.token(**wrong)

    assert_problem(refused, 429, "/problems/rate-limited")


async def test_readiness_reports_redis_ok(
    launch: Launcher, shared_redis: tuple[Redis, dict[str, str]]
) -> None:
    _, redis_settings = shared_redis
    service = await launch.start(**redis_settings)

    response = await service.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


async def test_with_redis_unreachable_the_api_keeps_answering_with_local_limits(
    launch: Launcher,
) -> None:
    # Nothing listens on port 1: every hit falls back to this process's own limits.
    service = await launch.start(
        EVENTAPI_RATE_LIMIT_ANONYMOUS="3", EVENTAPI_REDIS_URL="redis://127.0.0.1:1/0"
    )

    ready = await service.get("/health/ready")
    responses = [await service.get(EVENTS) for _ in range(4)]

    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "redis": "degraded"}}
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [remaining(r) for r in responses] == [2, 1, 0, 0]


async def test_a_429_can_be_read_by_an_allowed_browser_origin(launch: Launcher) -> None:
    service = await launch.start(
        EVENTAPI_RATE_LIMIT_ANONYMOUS="1", EVENTAPI_CORS_ORIGINS="https://app.example"
    )
    await service.get(EVENTS)

    allowed_origin = await service.get(EVENTS, headers={"Origin": "https://app.example"})
    other_origin = await service.get(EVENTS, headers={"Origin": "https://evil.example"})

    assert_rate_limited(allowed_origin, "anonymous", 60)
    assert allowed_origin.headers["access-control-allow-origin"] == "https://app.example"
    assert "RateLimit" in allowed_origin.headers["access-control-expose-headers"]
    assert_rate_limited(other_origin, "anonymous", 60)
    assert "access-control-allow-origin" not in other_origin.headers


# -- account recovery and verification -----------------------------------------------------


async def test_password_reset_is_limited_per_address(launch: Launcher) -> None:
    service = await launch.start(EVENTAPI_RATE_LIMIT_PASSWORD_RESET="2")
    reset = f"{API}/auth/password-reset"

    responses = [
        await service.client.post(reset, json={"email": service.email("who")}) for _ in range(3)
    ]

    assert [r.status_code for r in responses] == [202, 202, 429]
    assert limits(responses[0]) == ('"password-reset";q=2;w=3600', '"password-reset";r=1;t=3600')
    assert_rate_limited(responses[2], "password-reset", 3600)
    service.peer.host = "192.0.2.77"  # another address has its own budget
    assert (await service.client.post(reset, json={"email": "x@example.org"})).status_code == 202


async def test_password_reset_is_limited_per_account_known_or_not(launch: Launcher) -> None:
    service = await launch.start(EVENTAPI_RATE_LIMIT_PASSWORD_RESET_ACCOUNT="2")
    known = await service.account("kim")
    reset = f"{API}/auth/password-reset"

    answers: dict[str, list[int]] = {}
    for email in (known.email, service.email("nobody")):
        answers[email] = []
        for attempt in range(3):
            service.peer.host = f"192.0.2.{len(answers) * 10 + attempt}"  # never the address limit
            response = await service.client.post(reset, json={"email": email})
            answers[email].append(response.status_code)
            if response.status_code == 429:
                assert_problem(response, 429, "/problems/rate-limited")
                assert int(response.headers["retry-after"]) == 3600
                assert limits(response) == (
                    '"password-reset-account";q=2;w=3600',
                    '"password-reset-account";r=0;t=3600',
                )

    # The same for an address with an account and one without: existence stays hidden.
    assert list(answers.values()) == [[202, 202, 429], [202, 202, 429]]
    # Spelling the address differently is the same account.
    shouted = await service.client.post(reset, json={"email": known.email.upper()})
    assert shouted.status_code == 429


async def test_resending_the_verification_mail_is_limited_per_user(launch: Launcher) -> None:
    service = await launch.start(EVENTAPI_RATE_LIMIT_VERIFY_EMAIL="2")
    lee = await service.account("lee")
    resend = f"{API}/auth/verify-email/resend"

    responses = [await service.client.post(resend, headers=lee.headers) for _ in range(3)]

    assert [r.status_code for r in responses] == [202, 202, 429]
    assert_rate_limited(responses[2], "verify-email", 3600)
    other = await service.account("max")
    assert (await service.client.post(resend, headers=other.headers)).status_code == 202
