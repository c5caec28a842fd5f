"""Credentials are read once, at the edge (issue 9, finding 6 and step B).

A request carrying two `Authorization` headers was signed in as the first token
by the principal dependency but seen as anonymous by the rate limits, so a
caller escaped the per-user and join limits. A repeated header is now refused
with a 400 before anything else looks at it. And the header is parsed, and the
token verified, once per request: one step at the edge leaves the verdict in the
request scope for the limits, the guard and the principal dependency.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from application.ports.security import AccessClaims, TokenService
from domain.users import Role
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from tests.e2e.conftest import API, BASE_URL, PASSWORD, Api, assert_problem, settings_for


@pytest.fixture
def settings_overrides() -> Mapping[str, str]:
    return {"EVENTAPI_RATE_LIMITS": "on", "EVENTAPI_RATE_LIMIT_JOIN": "2"}


def both(first: str, second: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {first}"), ("Authorization", f"Bearer {second}")]


def send(api: Api, method: str, path: str, headers: list[tuple[str, str]]) -> httpx.Response:
    """One request with its headers exactly as given. (The test client folds repeated
    headers into one, "a, b", as a proxy may; httpx's ASGI transport keeps them.)"""
    app: Any = api.app

    async def request() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            return await client.request(method, path, headers=headers)

    return api.run(request)


async def test_a_repeated_authorization_header_is_refused(api: Api) -> None:
    ada = await api.user(name="ada")
    bob = await api.user(name="bob")

    for method, path in [
        ("GET", f"{API}/users/me"),
        ("GET", f"{API}/events"),
        ("PATCH", f"{API}/users/me"),
    ]:
        assert_problem(send(api, method, path, both(ada.access_token, bob.access_token)), 400)
        # The same token twice is no better: which header counts is never guessed.
        assert_problem(send(api, method, path, both(ada.access_token, ada.access_token)), 400)


async def test_a_repeated_header_does_not_escape_the_join_limit(api: Api) -> None:
    organizer = await api.user(name="organizer", role=Role.ORGANIZER)
    ada = await api.user(name="ada")
    events = [(await api.published_event(organizer))["id"] for _ in range(4)]
    before = api.snapshot()["registrations"]

    statuses = [
        send(
            api, "POST", f"{API}/events/{event_id}/registrations", both(ada.access_token, "x")
        ).status_code
        for event_id in events
    ]

    assert statuses == [400] * 4
    assert api.snapshot()["registrations"] == before
    # The join limit (2 here) still counts ada's real joins.
    joined = [
        (
            await api.client.post(f"{API}/events/{event_id}/registrations", headers=ada.headers)
        ).status_code
        for event_id in events[:3]
    ]
    assert joined == [201, 201, 429]


class CountingTokens:
    """The real token service, counting how often an access token is verified."""

    def __init__(self, inner: TokenService) -> None:
        self._inner = inner
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def read_access(self, token: str, now: datetime) -> AccessClaims:
        self.reads += 1
        return self._inner.read_access(token, now)


async def test_the_token_is_verified_once_per_request(
    database: tuple[str, str], tmp_path: Path
) -> None:
    container = build_container(
        settings_for(database[1], tmp_path / "data", EVENTAPI_RATE_LIMITS="on")
    )
    tokens = CountingTokens(container.tokens())
    container.tokens.override(providers.Object(tokens))
    app = create_app(container)
    async with AsyncTestClient(app=app, base_url=BASE_URL) as client:
        email = "once@example.org"
        registered = await client.post(
            f"{API}/auth/register",
            json={"email": email, "password": PASSWORD, "full_name": "Once"},
        )
        assert registered.status_code == 201, registered.text
        signed_in = await client.post(
            f"{API}/auth/token",
            data={"grant_type": "password", "username": email, "password": PASSWORD},
        )
        headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        tokens.reads = 0

        me = await client.get(f"{API}/users/me", headers=headers)
        renamed = await client.patch(f"{API}/users/me", headers=headers, json={"full_name": "O"})

    assert (me.status_code, renamed.status_code) == (200, 200)
    assert tokens.reads == 2
