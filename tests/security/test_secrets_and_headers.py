"""Secrets stay out of logs and error texts; browsers get the headers that keep
them safe (CORS only for configured origins and never with credentials, a
CSP everywhere, no caching of signed-in answers).

The app here runs with rate limits on and its Redis URL carrying a password
(an unreachable port, so the limiter logs its fallback warning): that warning
must name where Redis is, never the URL or its password.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.http.middleware import DOCS_CSP
from tests.e2e.conftest import API, BASE_URL, PASSWORD, Api, settings_for

REDIS_PASSWORD = "hunter2-redis-password"  # a test value, to look for in the logs
SECRET_KEY = b"k" * 48
ALLOWED_ORIGIN = "https://app.example.org"


@pytest.fixture
def settings_overrides() -> Mapping[str, str]:
    return {
        "EVENTAPI_SECRET_KEY": SECRET_KEY.decode(),
        "EVENTAPI_RATE_LIMITS": "on",
        "EVENTAPI_RATE_LIMIT_ANONYMOUS": "10000",
        "EVENTAPI_RATE_LIMIT_USER": "10000",
        "EVENTAPI_RATE_LIMIT_TOKEN": "10000",
        "EVENTAPI_REDIS_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:1/0",
    }


async def test_no_secret_reaches_the_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    email = api.email("secretive")
    await api.register(email)
    pair = (await api.token(grant_type="password", username=email, password=PASSWORD)).json()
    wrong = "a wrong but long password"
    await api.token(grant_type="password", username=email, password=wrong)
    refreshed = (
        await api.token(grant_type="refresh_token", refresh_token=pair["refresh_token"])
    ).json()
    bearer = {"Authorization": f"Bearer {refreshed['access_token']}"}
    await api.client.get(f"{API}/users/me", headers=bearer)
    await api.client.patch(
        f"{API}/users/me",
        json={"password": "another long passphrase", "current_password": wrong},
        headers=bearer,
    )
    await api.client.post(
        f"{API}/auth/revoke", data={"token": refreshed["refresh_token"]}, headers=bearer
    )

    secrets = {
        "password": PASSWORD,
        "wrong password": wrong,
        "access token": pair["access_token"],
        "refresh token": pair["refresh_token"],
        "rotated refresh token": refreshed["refresh_token"],
        "Redis password": REDIS_PASSWORD,
        "secret key": SECRET_KEY.decode(),
    }
    # The test's own HTTP client logs the URLs it calls; everything else is the service.
    logged = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''}"
        for record in caplog.records
        if not record.name.startswith("httpx")
    )
    assert "Redis rate limiter unavailable" in logged  # the warning was written...
    assert "127.0.0.1:1" in logged  # ...and says where Redis is
    assert [name for name, secret in secrets.items() if secret in logged] == []


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> AsyncEngine:
    found: AsyncEngine = request.getfixturevalue(f"{request.param}_engine")
    return found


async def test_database_errors_never_carry_bound_values(engine: AsyncEngine) -> None:
    """A failing statement's text (what would reach a log) shows no parameter values:
    they could be e-mail addresses, password hashes or token digests."""
    secret = "$2b$12$a-password-hash-that-must-not-be-logged"
    with pytest.raises((DBAPIError, StatementError)) as failure:
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO users (id, email) VALUES (:id, :email)"),
                {"id": "not an id", "email": secret},
            )

    assert secret not in str(failure.value)


@pytest.fixture
async def cors_client(tmp_path: Path) -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = settings_for(
        f"sqlite+aiosqlite:///{tmp_path}/cors.db", tmp_path, EVENTAPI_CORS_ORIGINS=ALLOWED_ORIGIN
    )
    async with AsyncTestClient(
        app=create_app(build_container(settings)), base_url=BASE_URL
    ) as client:
        yield client


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_cors_answers_only_the_configured_origin_and_never_with_credentials(
    api: Api, cors_client: AsyncTestClient[Litestar]
) -> None:
    evil = "https://evil.example"
    # Nothing configured (the default): no CORS headers for anyone.
    for origin in (ALLOWED_ORIGIN, evil, "null"):
        plain = await api.client.get(f"{API}/events", headers={"Origin": origin})
        assert "access-control-allow-origin" not in plain.headers

    allowed = await cors_client.get(f"{API}/events", headers={"Origin": ALLOWED_ORIGIN})
    allowed_preflight = await cors_client.options(
        f"{API}/users/me", headers=preflight(ALLOWED_ORIGIN)
    )
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert allowed_preflight.status_code in {200, 204}
    assert allowed_preflight.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    for response in (allowed, allowed_preflight):
        assert "access-control-allow-credentials" not in response.headers
    for origin in (evil, "null", ALLOWED_ORIGIN + ".evil.example", "http://app.example.org"):
        refused = await cors_client.get(f"{API}/events", headers={"Origin": origin})
        refused_preflight = await cors_client.options(f"{API}/users/me", headers=preflight(origin))
        assert "access-control-allow-origin" not in refused.headers, origin
        assert "access-control-allow-origin" not in refused_preflight.headers, origin


async def test_docs_pages_have_their_own_csp_and_the_api_a_closed_one(api: Api) -> None:
    docs = [await api.client.get(f"/schema/{page}") for page in ("swagger", "redoc", "scalar")]
    api_answer = await api.client.get(f"{API}/events")
    schema = await api.client.get("/schema/openapi.json")

    for page in docs:
        assert page.status_code == 200
        assert page.headers["content-security-policy"] == DOCS_CSP
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "http" not in page.headers["content-security-policy"]  # no host but self
    for response in (api_answer, schema):
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"


async def test_answers_to_signed_in_callers_and_tokens_are_never_cached(api: Api) -> None:
    caller = await api.user()
    pair = await api.token(grant_type="password", username=caller.email, password=PASSWORD)
    answers: list[httpx.Response] = [
        await api.client.get(f"{API}/users/me", headers=caller.headers),
        await api.client.get(f"{API}/events", headers=caller.headers),
        await api.client.get(f"{API}/users", headers=caller.headers),  # a 403 too
        pair,
    ]

    for response in answers:
        assert response.headers["cache-control"] == "no-store", response.request.url
