"""Redis stopped mid-run: the API keeps answering, with no server error.

The app runs with rate limits on and its limiter on a Redis of this test's own
(a throwaway `redis-server` on a free loopback port, no persistence). A mixed
workload (anonymous reads, sign-ins, signed-in reads and writes, joins) runs
while Redis is up, after it has been killed, while it hangs (SIGSTOP: every
command times out instead of failing fast), and after it is back. Throughout:
not one 5xx (the e2e fixture checks every response), every request answered,
every limited response still carrying RateLimit headers (the per-process
fallback counts meanwhile), and /health/ready saying "redis": "degraded" while
Redis is gone but still answering 200, then "ok" again.
"""

from __future__ import annotations

import signal
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.users import Role
from tests.e2e.conftest import API, Api, Caller
from tests.redis_support import unique_prefix
from tests.security.processes import Process, start_redis, wait_until_redis_answers

E = f"{API}/events"
RECOVERY_SECONDS = 15.0


@pytest.fixture
async def throwaway_redis(tmp_path: Path) -> AsyncIterator[Process]:
    redis = start_redis(tmp_path)
    try:
        await wait_until_redis_answers(redis)
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def settings_overrides(throwaway_redis: Process) -> Mapping[str, str]:
    return {
        "EVENTAPI_RATE_LIMITS": "on",
        "EVENTAPI_REDIS_URL": f"redis://127.0.0.1:{throwaway_redis.port}/0",
        "EVENTAPI_REDIS_KEY_PREFIX": unique_prefix(),
        # Generous numbers: this test is about answering, not about refusing.
        "EVENTAPI_RATE_LIMIT_ANONYMOUS": "10000",
        "EVENTAPI_RATE_LIMIT_USER": "10000",
        "EVENTAPI_RATE_LIMIT_TOKEN": "10000",
        "EVENTAPI_RATE_LIMIT_JOIN": "10000",
    }


async def workload(api: Api, organizer: Caller, attendee: Caller) -> list[httpx.Response]:
    """One round of everyday traffic; returns every response."""
    responses = [
        await api.client.get(E),
        await api.client.get(E, params={"q": "outage"}),
        await api.token(grant_type="password", username=attendee.email, password=attendee.password),
        await api.client.get(f"{API}/users/me", headers=attendee.headers),
    ]
    created = await api.client.post(
        E,
        json={
            "title": "Outage evening",
            "starts_at": "2031-05-01T18:00:00Z",
            "ends_at": "2031-05-01T20:00:00Z",
            "capacity": 50,
            "status": "published",
        },
        headers=organizer.headers,
    )
    responses.append(created)
    if created.status_code == 201:
        event = created.json()["id"]
        responses.append(
            await api.client.post(f"{E}/{event}/registrations", headers=attendee.headers)
        )
        responses.append(await api.client.get(f"{E}/{event}/calendar.ics"))
    return responses


def assert_served(responses: list[httpx.Response]) -> None:
    statuses = [response.status_code for response in responses]
    assert all(status < 400 for status in statuses), statuses
    assert all("ratelimit" in response.headers for response in responses)


async def readiness(api: Api) -> tuple[int, Any]:
    response = await api.client.get("/health/ready")
    return response.status_code, response.json()


async def test_the_api_answers_through_a_redis_outage(api: Api, throwaway_redis: Process) -> None:
    organizer = await api.user(Role.ORGANIZER)
    attendee = await api.user()

    # Up: limits counted in Redis.
    assert await readiness(api) == (
        200,
        {"status": "ok", "checks": {"database": "ok", "redis": "ok"}},
    )
    assert_served(await workload(api, organizer, attendee))

    # Killed: connections refused, the fallback answers at once.
    throwaway_redis.process.kill()
    throwaway_redis.process.wait()
    started = time.perf_counter()
    for _ in range(3):
        assert_served(await workload(api, organizer, attendee))
    assert time.perf_counter() - started < 10
    degraded = (200, {"status": "ok", "checks": {"database": "ok", "redis": "degraded"}})
    assert await readiness(api) == degraded

    # Back, on the same port: the shared limits return without a restart.
    revived = start_redis(throwaway_redis.log.parent, port=throwaway_redis.port)
    try:
        await wait_until_redis_answers(revived)
        deadline = time.monotonic() + RECOVERY_SECONDS
        while await readiness(api) != (
            200,
            {"status": "ok", "checks": {"database": "ok", "redis": "ok"}},
        ):
            assert time.monotonic() < deadline, "readiness never saw Redis again"
        assert_served(await workload(api, organizer, attendee))

        # Hanging (SIGSTOP): commands time out (0.5 s) instead of failing; still answered.
        revived.process.send_signal(signal.SIGSTOP)
        assert_served(await workload(api, organizer, attendee))
        assert await readiness(api) == degraded
        revived.process.send_signal(signal.SIGCONT)
    finally:
        revived.stop()
