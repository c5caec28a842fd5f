"""`eventapi serve`'s whole output, as an operator's log collector gets it: JSON lines
only, one access record per request (uvicorn's own access log replaced, not doubled),
the worker's batches as records, and not one of the secrets the run used.

The server runs as a subprocess on the embedded default (SQLite, the in-process
worker mailing to data/mail), with stdout and stderr going to one file.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.security.processes import (
    EVENTAPI,
    POLL_SECONDS,
    START_SECONDS,
    Process,
    clean_environment,
    start_eventapi,
    wait_until_ready,
)

API = "/api/v1"
ADMIN_PASSWORD = "admin passphrase that must never be logged 1"
FIRST_PASSWORD = "first passphrase that must never be logged 2"
SECOND_PASSWORD = "second passphrase that must never be logged 3"
WRONG_PASSWORD = "wrong passphrase that must never be logged 4"
#: In the event's description, so in the confirmation mail's body: never in a log.
MAIL_MARKER = "mail-body-marker-7f3a9"
ACCESS_FIELDS = {"request_id", "method", "route", "path", "status", "duration_ms", "client"}


def records(server: Process) -> list[dict[str, Any]]:
    """Every line of the run's output, each of which must be a JSON object."""
    lines = [line for line in server.log.read_text(encoding="utf-8").splitlines() if line]
    parsed = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
        assert isinstance(entry, dict), line
        parsed.append(entry)
    return parsed


async def wait_for_mail(workdir: Path, count: int, server: Process) -> None:
    deadline = time.monotonic() + START_SECONDS
    while len(list((workdir / "data" / "mail").glob("*.eml"))) < count:
        server.check_running()
        if time.monotonic() > deadline:
            pytest.fail(f"{count} mails not delivered in {START_SECONDS} s:\n{server.output()}")
        await asyncio.sleep(POLL_SECONDS)


async def token(client: httpx.AsyncClient, **form: str) -> dict[str, Any]:
    response = await client.post(f"{API}/auth/token", data=form)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_a_runs_log_is_json_lines_without_a_secret(tmp_path: Path) -> None:
    env = clean_environment(BCRYPT_ROUNDS="4", SECRET_KEY="x" * 48)
    subprocess.run(  # noqa: S603, ASYNC221 - our own CLI, before anything else runs
        [*EVENTAPI, "create-admin", "--email", "root@example.org", "--password", ADMIN_PASSWORD],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        timeout=START_SECONDS,
    )
    server = start_eventapi("eventapi", env, tmp_path)
    secrets = [ADMIN_PASSWORD, FIRST_PASSWORD, SECOND_PASSWORD, WRONG_PASSWORD, MAIL_MARKER]
    try:
        await wait_until_ready(server)
        async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=30) as client:
            registered = await client.post(
                f"{API}/auth/register",
                json={"email": "ann@example.org", "password": FIRST_PASSWORD, "full_name": "Ann"},
            )
            assert registered.status_code == 201, registered.text
            user_id = registered.json()["id"]
            signed_in = await token(
                client, grant_type="password", username="ann@example.org", password=FIRST_PASSWORD
            )
            refreshed = await token(
                client, grant_type="refresh_token", refresh_token=signed_in["refresh_token"]
            )
            changed = await client.patch(
                f"{API}/users/me",
                json={"password": SECOND_PASSWORD, "current_password": FIRST_PASSWORD},
                headers=bearer(refreshed),
            )
            assert changed.status_code == 200, changed.text
            wrong = await client.post(
                f"{API}/auth/token",
                data={
                    "grant_type": "password",
                    "username": "ann@example.org",
                    "password": WRONG_PASSWORD,
                },
            )
            assert wrong.status_code == 400
            again = await token(
                client, grant_type="password", username="ann@example.org", password=SECOND_PASSWORD
            )
            admin = await token(
                client, grant_type="password", username="root@example.org", password=ADMIN_PASSWORD
            )
            starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
            created = await client.post(
                f"{API}/events",
                json={
                    "title": "Log test evening",
                    "description": f"<p>{MAIL_MARKER}</p>",
                    "starts_at": starts.isoformat(),
                    "ends_at": (starts + timedelta(hours=2)).isoformat(),
                    "timezone": "Europe/Berlin",
                    "capacity": 5,
                    "status": "published",
                    "location": {"venue": "Hall", "city": "Berlin", "country": "DE"},
                },
                headers={**bearer(admin), "Cookie": "session=cookie-never-logged"},
            )
            assert created.status_code == 201, created.text
            joined = await client.post(
                f"{API}/events/{created.json()['id']}/registrations", headers=bearer(again)
            )
            assert joined.status_code == 201, joined.text
            revoked = await client.post(
                f"{API}/auth/revoke", data={"token": again["refresh_token"]}, headers=bearer(again)
            )
            assert revoked.status_code == 200, revoked.text
        # Welcome mails (admin's and Ann's) and Ann's confirmation, from the worker.
        await wait_for_mail(tmp_path, 3, server)
    finally:
        server.stop()
    for tokens in (signed_in, refreshed, again, admin):
        secrets += [tokens["access_token"], tokens["refresh_token"]]
    secrets += ["cookie-never-logged", "Bearer ", "Authorization", "authorization"]

    output = server.log.read_text(encoding="utf-8")
    for secret in secrets:
        assert secret not in output, f"{secret[:12]}... is in the log"
    entries = records(server)
    access = [entry for entry in entries if entry["logger"] == "eventapi.access"]
    assert all(set(entry) >= ACCESS_FIELDS for entry in access)
    tokens_posted = [entry for entry in access if entry["route"] == f"{API}/auth/token"]
    assert [entry["status"] for entry in tokens_posted] == [200, 200, 400, 200, 200]
    (change,) = [entry for entry in access if entry["method"] == "PATCH"]
    assert change["user_id"] == user_id
    assert change["path"] == f"{API}/users/me"
    (join,) = [
        entry for entry in access if entry["route"] == f"{API}/events/{{event_id}}/registrations"
    ]
    assert join["status"] == 201
    assert join["user_id"] == user_id
    # One record per request: uvicorn's access log ("GET /path HTTP/1.1" 200) is off.
    assert "HTTP/1.1" not in output
    batches = [entry for entry in entries if entry.get("event") == "outbox.batch"]
    mailed = len(list((tmp_path / "data" / "mail").glob("*.eml")))
    assert sum(entry.get("sent", 0) for entry in batches) == mailed
