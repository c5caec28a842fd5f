"""End-to-end fixtures: the real app over HTTP, on SQLite and on PostgreSQL.

`api` builds the service exactly as production does (`build_container(Settings)`
then `create_app(container)`), with every real adapter, and talks to it through
Litestar's test client: real routing, real (de)serialisation, real status codes
and headers, no network beyond the process.

The test client runs the app (and its lifespan) on a loop of its own in a helper
thread, so anything a test does with the container directly goes through
`Api.run`, on that same loop, never on the test's loop: an engine's connections
belong to the loop that opened them.

PostgreSQL comes from the session fixtures in tests/conftest.py
(`EVENTAPI_TEST_DATABASE_URL` in CI); if it cannot be reached, the PostgreSQL
half of every e2e test fails. It is never skipped.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs
from uuid import uuid4

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from adapters.sql.tables import ALL_TABLES
from application.use_cases.sign_up import SignUpCommand
from domain.users import Role
from entrypoints.container import Container, build_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings

T = TypeVar("T")

API = "/api/v1"
PASSWORD = "plenty of words for a passphrase"
PROBLEM_JSON = "application/problem+json"
#: Loopback, so that nothing could ever leave the machine even by mistake.
BASE_URL = "http://127.0.0.1:8000"

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

#: A snapshot of every table: rows as tuples, sorted, per table name.
Snapshot = dict[str, list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Caller:
    """Someone calling the API; the anonymous caller has no token."""

    name: str
    user_id: str = ""
    email: str = ""
    password: str = ""
    access_token: str = ""
    refresh_token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"} if self.access_token else {}


ANONYMOUS = Caller("anonymous")


def in_days(days: float, *, hours: float = 0) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=days, hours=hours)


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def event_body(**overrides: Any) -> dict[str, Any]:
    """A valid new event a month from now, with any field replaced."""
    starts = in_days(30)
    body: dict[str, Any] = {
        "title": "Rust and Python interop evening",
        "description": "<p>Talks and <b>pizza</b>.</p>",
        "starts_at": rfc3339(starts),
        "ends_at": rfc3339(starts + timedelta(hours=3)),
        "timezone": "Europe/Berlin",
        "capacity": 10,
        "location": {
            "venue": "Kulturbrauerei",
            "address": "Schönhauser Allee 36",
            "city": "Berlin",
            "country": "DE",
            "latitude": 52.5392,
            "longitude": 13.4128,
        },
    }
    body.update(overrides)
    return body


def assert_problem(response: httpx.Response, status: int, type_: str | None = None) -> Any:
    """The response is an RFC 9457 problem with this status (and type); returns the body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["type"], str)
    if type_ is not None:
        assert body["type"] == type_, body
    return body


#: Never in any response: stack traces, driver or ORM names, bcrypt hashes.
LEAKS = ("Traceback", 'File "', "$2b$", "$2a$", "sqlalchemy", "asyncpg", "aiosqlite", "sqlite3")
#: Never in an error response: SQL. (A 2xx may echo what a user wrote, SQL-like or not.)
SQL_TEXT = ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM", " WHERE ", "psycopg", "SQLSTATE")
TOKEN_PATH = f"{API}/auth/token"


def hygiene_problems(response: httpx.Response, echoes: tuple[str, ...] = ()) -> list[str]:
    """What is wrong with a response by the contract's rules for every response:
    no 5xx, no leaks, and every 4xx a problem document (except the token
    endpoint's RFC 6749 errors). `echoes` are strings the client sent that a
    response may legitimately repeat."""
    problems: list[str] = []
    text = response.text
    for echo in sorted({*echoes, *_sent_strings(response.request)}, key=len, reverse=True):
        text = text.replace(echo, "").replace(json.dumps(echo)[1:-1], "")
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    if response.status_code >= 500 and not _not_ready(response):
        problems.append(f"{where}: a server error")
    problems += [f"{where}: contains {leak!r}" for leak in LEAKS if leak in text]
    if response.status_code < 400 or _not_ready(response) or response.request.method == "HEAD":
        return problems  # (a HEAD answer has no body to judge)
    problems += [f"{where}: contains SQL {sql!r}" for sql in SQL_TEXT if sql in text]
    content_type = response.headers.get("content-type", "")
    if response.request.url.path == TOKEN_PATH and response.status_code == 400:
        if not content_type.startswith("application/json") or "error" not in response.json():
            problems.append(f"{where}: not an RFC 6749 error body")
        return problems
    if not content_type.startswith(PROBLEM_JSON):
        problems.append(f"{where}: {content_type!r}, not problem+json")
        return problems
    body = response.json()
    if not (
        isinstance(body, dict)
        and isinstance(body.get("type"), str)
        and isinstance(body.get("title"), str)
        and body.get("status") == response.status_code
    ):
        problems.append(f"{where}: problem without type, title and matching status")
    return problems


def _sent_strings(request: httpx.Request) -> set[str]:
    """Every text the client put in the query, a form or a JSON body."""
    sent = {value for _, value in request.url.params.multi_items()}
    content_type = request.headers.get("content-type", "")
    try:
        body = request.content.decode()
    except (UnicodeDecodeError, httpx.RequestNotRead):
        return sent
    if content_type.startswith("application/x-www-form-urlencoded"):
        sent |= {value for values in parse_qs(body).values() for value in values}
    elif content_type.startswith("application/json"):
        with contextlib.suppress(ValueError, RecursionError):
            sent |= set(_strings(json.loads(body)))
    return {text for text in sent if len(text) >= 4}


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _not_ready(response: httpx.Response) -> bool:
    """The readiness probe's 503 is its own JSON document, as the contract says."""
    return response.status_code == 503 and response.request.url.path == "/health/ready"


@dataclass
class Api:
    """The running service plus the helpers that set up who and what a test needs."""

    client: AsyncTestClient[Litestar]
    container: Container
    app: Litestar
    database: str
    _admin: Caller | None = None
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- plumbing ----------------------------------------------------------------------

    def run(self, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run `work()` on the app's loop (see the module docstring)."""
        result: T = self.client.blocking_portal.call(work)
        return result

    def email(self, name: str) -> str:
        return f"{name}.{next(self._numbers)}.{uuid4().hex[:8]}@example.org"

    # -- people ------------------------------------------------------------------------

    async def register(
        self, email: str, password: str = PASSWORD, full_name: str = "Test Person"
    ) -> httpx.Response:
        return await self.client.post(
            f"{API}/auth/register",
            json={"email": email, "password": password, "full_name": full_name},
        )

    async def token(self, **form: str) -> httpx.Response:
        return await self.client.post(f"{API}/auth/token", data=form)

    async def sign_in(self, name: str, email: str, password: str = PASSWORD) -> Caller:
        response = await self.token(grant_type="password", username=email, password=password)
        assert response.status_code == 200, response.text
        tokens = response.json()
        me = await self.client.get(
            f"{API}/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert me.status_code == 200, me.text
        return Caller(
            name=name,
            user_id=me.json()["id"],
            email=email,
            password=password,
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
        )

    async def admin(self) -> Caller:
        """The first admin, opened through the container's use case (as `create-admin` does)."""
        if self._admin is None:
            email = self.email("admin")
            command = SignUpCommand(email=email, password=PASSWORD, full_name="Ada Admin")
            sign_up = self.container.sign_up()
            self.run(lambda: sign_up.open_account(command, Role.ADMIN))
            self._admin = await self.sign_in("admin", email)
        return self._admin

    async def user(self, role: Role = Role.ATTENDEE, name: str = "") -> Caller:
        """A new account of this role: registered over HTTP, promoted by an admin over HTTP."""
        name = name or role.value
        email = self.email(name)
        registered = await self.register(email, full_name=f"{name.title()} Person")
        assert registered.status_code == 201, registered.text
        if role is not Role.ATTENDEE:
            admin = await self.admin()
            promoted = await self.client.patch(
                f"{API}/users/{registered.json()['id']}",
                json={"role": role.value},
                headers=admin.headers,
            )
            assert promoted.status_code == 200, promoted.text
        return await self.sign_in(name, email)

    # -- events ------------------------------------------------------------------------

    async def create_event(self, owner: Caller, **fields: Any) -> dict[str, Any]:
        response = await self.client.post(
            f"{API}/events", json=event_body(**fields), headers=owner.headers
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def publish(self, owner: Caller, event_id: str) -> dict[str, Any]:
        response = await self.client.patch(
            f"{API}/events/{event_id}", json={"status": "published"}, headers=owner.headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def published_event(self, owner: Caller, **fields: Any) -> dict[str, Any]:
        event = await self.create_event(owner, **fields)
        return await self.publish(owner, event["id"])

    async def join(self, caller: Caller, event_id: str) -> dict[str, Any]:
        response = await self.client.post(
            f"{API}/events/{event_id}/registrations", headers=caller.headers
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def get_event(self, event_id: str, caller: Caller | None = None) -> httpx.Response:
        headers = (caller or await self.admin()).headers
        return await self.client.get(f"{API}/events/{event_id}", headers=headers)

    # -- state -------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """Every row of every table, straight from the database."""
        engine = self.container.engine()

        async def read() -> Snapshot:
            tables: Snapshot = {}
            async with engine.connect() as connection:
                for table in ALL_TABLES:
                    rows = (await connection.execute(select(table))).all()
                    tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
            return tables

        return self.run(read)

    def wipe(self) -> None:
        """Empty every table and forget in-process state, as if the service were new."""
        engine = self.container.engine()

        async def empty() -> None:
            async with engine.begin() as connection:
                for table in ALL_TABLES:  # children first
                    await connection.execute(table.delete())

        self.run(empty)
        self._admin = None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "server_errors_expected: the test provokes a 5xx on purpose (skips the teardown check)",
    )


def settings_for(database_url: str, data_dir: Path, **variables: str) -> Settings:
    """The settings production would read, with `EVENTAPI_*` `variables` on top."""
    environment = {
        "EVENTAPI_DATABASE_URL": database_url,
        "EVENTAPI_DATA_DIR": str(data_dir),
        "EVENTAPI_SECRET_KEY": "x" * 48,
        "EVENTAPI_BCRYPT_ROUNDS": "4",
        "EVENTAPI_ENV": "test",
        # One test sends more requests from one address than the contract's per-minute
        # limits allow; these suites test everything else, rate limits have their own.
        "EVENTAPI_RATE_LIMITS": "off",
        # No in-process worker: many tests compare snapshots of every table, the
        # outbox included, and a worker marking rows sent in between would make
        # "nothing changed" flaky. test_inprocess_worker.py runs the app with one.
        "EVENTAPI_INPROCESS_WORKER": "off",
        **variables,
    }
    return Settings.from_environment(environment)


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(name, URL) of an empty, migrated database for this test."""
    if request.param == "postgres":
        request.getfixturevalue("postgres_engine")  # empties every table first
        url: str = request.getfixturevalue("postgres_url")
        return "postgres", url
    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path / "eventapi.db"
    shutil.copyfile(template, path)
    return "sqlite", f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings_overrides() -> Mapping[str, str]:
    """Override in a test module to run the app with other `EVENTAPI_*` variables."""
    return {}


@pytest.fixture
async def api(
    request: pytest.FixtureRequest,
    database: tuple[str, str],
    tmp_path: Path,
    settings_overrides: Mapping[str, str],
) -> AsyncIterator[Api]:
    name, url = database
    container = build_container(settings_for(url, tmp_path / "data", **settings_overrides))
    app = create_app(container)
    seen: list[str] = []

    async def inspect(response: httpx.Response) -> None:
        await response.aread()
        seen.extend(hygiene_problems(response))

    async with AsyncTestClient(app=app, base_url=BASE_URL) as client:
        client.event_hooks = {"request": [], "response": [inspect]}
        yield Api(client=client, container=container, app=app, database=name)
    if request.node.get_closest_marker("server_errors_expected") is None:
        # Every response of every e2e test, not only the hygiene sweep's.
        assert not seen, "responses broke the rules for every response:\n" + "\n".join(seen)
