"""One `eventapi.access` record per request, with the fields docs/configuration.md lists;
the signed-in user's id when there is one, never a credential."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings

PASSWORD = "plenty of words for a passphrase"
FIELDS = {"request_id", "method", "route", "path", "status", "duration_ms", "client"}


def access_records(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [
        {name: getattr(record, name) for name in (*FIELDS, "user_id") if hasattr(record, name)}
        for record in caplog.records
        if record.name == "eventapi.access"
    ]


async def test_each_request_is_one_record_with_route_status_and_user(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings.from_environment(
        {
            "EVENTAPI_ENV": "test",
            "EVENTAPI_DATA_DIR": str(tmp_path),
            "EVENTAPI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'log.db'}",
            "EVENTAPI_SECRET_KEY": "l" * 48,
            "EVENTAPI_BCRYPT_ROUNDS": "4",
            "EVENTAPI_RATE_LIMITS": "off",
            "EVENTAPI_INPROCESS_WORKER": "off",
        }
    )
    app = create_app(build_container(settings))
    caplog.set_level(logging.INFO, logger="eventapi.access")
    async with AsyncTestClient(app) as client:
        registered = await client.post(
            "/api/v1/auth/register",
            json={"email": "log@example.org", "password": PASSWORD, "full_name": "L"},
        )
        user_id = registered.json()["id"]
        form = {"grant_type": "password", "username": "log@example.org", "password": PASSWORD}
        tokens = (await client.post("/api/v1/auth/token", data=form)).json()
        caplog.clear()
        me = await client.get(
            "/api/v1/users/me?fields=all",
            headers={
                "Authorization": f"Bearer {tokens['access_token']}",
                "X-Request-ID": "trace-me-1",
                "Cookie": "session=cookie-secret",
            },
        )
        missing = await client.get("/api/v1/events/0191d3c6-0000-7000-8000-000000000000")
        nowhere = await client.get("/nowhere")

    assert [me.status_code, missing.status_code, nowhere.status_code] == [200, 404, 404]
    signed_in, not_found, unmatched = access_records(caplog)
    assert set(signed_in) == FIELDS | {"user_id"}
    assert signed_in["request_id"] == "trace-me-1"
    assert signed_in["user_id"] == user_id
    assert (signed_in["method"], signed_in["route"], signed_in["status"]) == (
        "GET",
        "/api/v1/users/me",
        200,
    )
    assert signed_in["path"] == "/api/v1/users/me"  # no query string
    assert isinstance(signed_in["duration_ms"], float)
    assert signed_in["client"] == "testclient"
    assert "user_id" not in not_found
    assert not_found["route"] == "/api/v1/events/{event_id}"
    assert not_found["request_id"] == missing.headers["x-request-id"]
    assert unmatched["route"] is None
    assert unmatched["path"] == "/nowhere"
    logged = caplog.text + repr([vars(record) for record in caplog.records])
    for secret in (tokens["access_token"], "cookie-secret", "Authorization", "Bearer"):
        assert secret not in logged


async def test_a_calendar_feeds_secret_is_neither_logged_nor_a_metrics_label(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings.from_environment(
        {
            "EVENTAPI_ENV": "test",
            "EVENTAPI_DATA_DIR": str(tmp_path),
            "EVENTAPI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'feed.db'}",
            "EVENTAPI_SECRET_KEY": "f" * 48,
            "EVENTAPI_BCRYPT_ROUNDS": "4",
            "EVENTAPI_RATE_LIMITS": "off",
            "EVENTAPI_INPROCESS_WORKER": "off",
        }
    )
    app = create_app(build_container(settings))
    caplog.set_level(logging.INFO, logger="eventapi.access")
    async with AsyncTestClient(app) as client:
        await client.post(
            "/api/v1/auth/register",
            json={"email": "feed@example.org", "password": PASSWORD, "full_name": "F"},
        )
        form = {"grant_type": "password", "username": "feed@example.org", "password": PASSWORD}
        tokens = (await client.post("/api/v1/auth/token", data=form)).json()
        issued = await client.post(
            "/api/v1/users/me/calendar-feed",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        path = "/calendar/" + issued.json()["url"].rsplit("/calendar/", 1)[1]
        token = path.removeprefix("/calendar/").removesuffix(".ics")
        caplog.clear()
        found = await client.get(path)
        trailing = await client.get(path + "/")  # the router's spelling of the same path
        unknown = await client.get(path.replace(token[:8], "A" * 8))
        scraped = await client.get("/metrics")

    assert [found.status_code, unknown.status_code] == [200, 404]
    assert trailing.status_code in {200, 404}
    records = access_records(caplog)
    feeds = [record for record in records if record["path"].startswith("/calendar")]
    assert len(feeds) == 3
    for record in feeds:
        assert record["path"] == "/calendar/{token}.ics"
        assert record["route"] == "/calendar/{feed}"
    logged = caplog.text + repr([vars(record) for record in caplog.records])
    assert token not in logged
    assert token[:8] not in logged
    assert scraped.status_code == 200
    assert 'route="/calendar/{feed}"' in scraped.text
    assert token not in scraped.text
