"""What no response may contain, over a broad sweep of requests, most of them wrong.

The rules (`hygiene_problems` in conftest.py): no 5xx; no stack trace, driver or
ORM name or bcrypt hash in any body; no SQL in an error body; every 4xx/5xx a
problem document with type, title and status, except the token endpoint's RFC
6749 errors. The same rules already hold for every response of every e2e test
(checked at teardown); here they meet malformed JSON, wrong types, huge strings,
SQL-injection-like text, random ids and odd headers on every route.

And when something does break inside, the 500 says so without saying what.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy.exc
from dependency_injector import providers

from application.ports.queries import EventView
from application.use_cases.get_event import GetEvent, GetEventCommand
from domain.users import Role
from tests.e2e.conftest import API, Api, Caller, assert_problem, event_body, hygiene_problems

INJECTIONS = (
    "' OR '1'='1",
    "'; DROP TABLE users; --",
    '" OR 1=1 --',
    "1); SELECT pg_sleep(5); --",
    "%' UNION SELECT password_hash, email FROM users --",
    "\\",
    "%",
    "_%_",
    "\x00",
    "${jndi:ldap://127.0.0.1/x}",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "../../../../etc/passwd",
    "\u202e\u0000\ufeff",
    "💥" * 64,
)
HUGE = ("h" * 100_000, "é" * 300_000)
WRONG_TYPES: tuple[Any, ...] = (123, -1, 1.5e308, True, None, [], {}, ["a"], {"$gt": ""})
BAD_BODIES = (
    b"{not json",
    b"",
    b"null",
    b"[]",
    b"42",
    b'"a string"',
    b'{"title": ',
    b"\xff\xfe\xfd",
    b'{"email": "\\ud800"}',
    b'{"__proto__": {"role": "admin"}}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a": 1, "a": 2}',
)
RANDOM_IDS = (
    str(uuid.UUID(int=0)),
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "01890000-0000-7000-8000-000000000000",
    str(uuid.uuid4()),
    "not-a-uuid",
    "1 OR 1=1",
    quote("' OR '1'='1", safe=""),
    "..%2F..%2Fetc%2Fpasswd",
    "x" * 2000,
)


@dataclass
class Probe:
    method: str
    path: str
    options: dict[str, Any] = field(default_factory=dict)
    #: What the client sent that a response may repeat verbatim (its own data).
    echoes: tuple[str, ...] = ()


@dataclass
class Scene:
    owner: Caller
    attendee: Caller
    admin: Caller
    published: str
    draft: str
    registration: str


async def scene(api: Api) -> Scene:
    owner = await api.user(Role.ORGANIZER, name="owner")
    attendee = await api.user(name="attendee")
    admin = await api.admin()
    published = await api.published_event(owner, waitlist_enabled=True)
    draft = await api.create_event(owner, title="Draft")
    registration = await api.join(attendee, published["id"])
    return Scene(owner, attendee, admin, published["id"], draft["id"], registration["id"])


def json_routes(s: Scene) -> Iterator[tuple[str, str, Caller, dict[str, Any]]]:
    """(method, path, caller, a valid body) of every route that reads JSON."""
    yield (
        "POST",
        f"{API}/auth/register",
        s.attendee,
        {
            "email": "fuzz@example.org",
            "password": "a long enough passphrase",
            "full_name": "Fuzz",
        },
    )
    yield "PATCH", f"{API}/users/me", s.attendee, {"full_name": "Fuzz"}
    yield (
        "POST",
        f"{API}/users",
        s.admin,
        {
            "email": "fuzz2@example.org",
            "password": "a long enough passphrase",
            "full_name": "Fuzz",
            "role": "organizer",
        },
    )
    yield "PATCH", f"{API}/users/{s.attendee.user_id}", s.admin, {"full_name": "Fuzz"}
    yield "POST", f"{API}/events", s.owner, event_body()
    yield "PATCH", f"{API}/events/{s.published}", s.owner, {"title": "Fuzz", "capacity": 20}
    yield "POST", f"{API}/events/{s.published}/cancel", s.owner, {"reason": "fuzz"}


def probes(s: Scene) -> Iterator[Probe]:
    anonymous: dict[str, str] = {}
    # -- malformed bodies, and every field of every body set to the wrong thing ------
    for method, path, caller, valid in json_routes(s):
        for raw in BAD_BODIES:
            for headers in (caller.headers, anonymous):
                yield Probe(
                    method,
                    path,
                    {"content": raw, "headers": {**headers, "Content-Type": "application/json"}},
                )
        for name in valid:
            for value in (*WRONG_TYPES, *INJECTIONS, *HUGE):
                body = {**valid, name: value}
                echoes = (value,) if isinstance(value, str) else ()
                yield Probe(method, path, {"json": body, "headers": caller.headers}, echoes)
        yield Probe(method, path, {"json": {**valid, "location": {"latitude": "north"}}})
        yield Probe(
            method,
            path,
            {"json": valid, "headers": caller.headers},
            tuple(v for v in valid.values() if isinstance(v, str)),
        )
    # -- query parameters -------------------------------------------------------------
    listings = (
        (
            f"{API}/events",
            s.owner,
            (
                "q",
                "city",
                "country",
                "starts_from",
                "starts_to",
                "near",
                "radius_km",
                "available",
                "organizer_id",
                "status",
                "sort",
                "limit",
                "cursor",
            ),
        ),
        (f"{API}/users", s.admin, ("q", "role", "is_active", "limit", "cursor")),
        (f"{API}/users/me/registrations", s.attendee, ("upcoming", "limit", "cursor")),
        (f"{API}/events/{s.published}/attendees", s.owner, ("status", "limit", "cursor")),
    )
    odd_values = (
        *INJECTIONS,
        "h" * 5000,
        "-1",
        "1e309",
        "nan",
        "inf",
        "0x10",
        "9" * 40,
        "9999-12-31T23:59:59+14:00",
        "0001-01-01",
        "2030-02-30",
        "52.5,13.4,1",
        "true,false",
    )
    for path, caller, names in listings:
        for name in names:
            for value in odd_values:
                for headers in (caller.headers, anonymous):
                    yield Probe(
                        "GET", path, {"params": {name: value}, "headers": headers}, (value,)
                    )
        for accept in ("text/csv", "application/xml", "*/*", "text/html;q=0.1, garbage"):
            yield Probe("GET", path, {"headers": {**caller.headers, "Accept": accept}})
    # -- ids in the path --------------------------------------------------------------
    for some_id in RANDOM_IDS:
        for caller in (s.admin, s.attendee):
            h = caller.headers
            yield Probe("GET", f"{API}/events/{some_id}", {"headers": h})
            yield Probe("PATCH", f"{API}/events/{some_id}", {"json": {"title": "x"}, "headers": h})
            yield Probe("DELETE", f"{API}/events/{some_id}", {"headers": h})
            yield Probe("POST", f"{API}/events/{some_id}/cancel", {"headers": h})
            yield Probe("GET", f"{API}/events/{some_id}/calendar.ics", {"headers": h})
            yield Probe("GET", f"{API}/events/{some_id}/attendees", {"headers": h})
            yield Probe("POST", f"{API}/events/{some_id}/registrations", {"headers": h})
            yield Probe("DELETE", f"{API}/events/{some_id}/registrations/me", {"headers": h})
            yield Probe(
                "DELETE", f"{API}/events/{s.published}/registrations/{some_id}", {"headers": h}
            )
            yield Probe("GET", f"{API}/users/{some_id}", {"headers": h})
            yield Probe(
                "PATCH", f"{API}/users/{some_id}", {"json": {"full_name": "x"}, "headers": h}
            )
            yield Probe("DELETE", f"{API}/users/{some_id}", {"headers": h})
    # -- the form-encoded endpoints ---------------------------------------------------
    form_fields = ("grant_type", "username", "password", "refresh_token", "scope")
    for name in form_fields:
        for value in (*INJECTIONS, "t" * 5000, ""):
            base = {"grant_type": "password", "username": s.attendee.email, "password": "x"}
            yield Probe("POST", f"{API}/auth/token", {"data": {**base, name: value}}, (value,))
    for raw in (
        b"%%%",
        b"grant_type=password&username=%ff%fe&password=%00",
        b"a=1&a=2&&=",
        b"grant_type=refresh_token&refresh_token=" + b"r" * 10_000,
        b"\xff\xfe",
    ):
        form_type = {"Content-Type": "application/x-www-form-urlencoded"}
        yield Probe("POST", f"{API}/auth/token", {"content": raw, "headers": form_type})
        yield Probe(
            "POST",
            f"{API}/auth/revoke",
            {"content": raw, "headers": {**s.attendee.headers, **form_type}},
        )
    for value in (*INJECTIONS, "v" * 10_000):
        yield Probe(
            "POST", f"{API}/auth/revoke", {"data": {"token": value}, "headers": s.owner.headers}
        )
    # -- headers ------------------------------------------------------------------------
    for value in (*INJECTIONS[:8], "Bearer " + "a.b.c", "Bearer " + INJECTIONS[1], "Bearer a.b"):
        safe = value.replace("\x00", "")
        yield Probe("GET", f"{API}/users/me", {"headers": {"Authorization": safe}})
    for tag in ('"x"', "*", "W/", "garbage", '"' + "e" * 3000 + '"'):
        yield Probe(
            "PATCH",
            f"{API}/events/{s.published}",
            {"json": {"title": "Tagged"}, "headers": {**s.owner.headers, "If-Match": tag}},
        )
        yield Probe("GET", f"{API}/events/{s.published}", {"headers": {"If-None-Match": tag}})
    for content_type in (
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/x-www-form-urlencoded",
    ):
        yield Probe(
            "POST",
            f"{API}/events",
            {
                "content": b'{"title": "x"}',
                "headers": {**s.owner.headers, "Content-Type": content_type},
            },
        )


async def test_no_response_leaks_or_breaks_the_problem_format(api: Api) -> None:
    s = await scene(api)
    failures: list[str] = []
    statuses: dict[int, int] = {}
    count = 0

    for probe in probes(s):
        response = await api.client.request(probe.method, probe.path, **probe.options)
        count += 1
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        failures += hygiene_problems(response, probe.echoes)

    assert not failures, f"{len(failures)} of {count} responses:\n" + "\n".join(failures[:40])
    assert count > 1000
    assert all(status < 500 for status in statuses)
    assert {400, 401, 403, 404, 405, 409, 413, 415} & set(statuses) >= {400, 401, 404, 415}


async def test_listed_users_and_events_never_carry_a_hash(api: Api) -> None:
    s = await scene(api)

    bodies = [
        (await api.client.get(f"{API}/users", headers=s.admin.headers)).text,
        (await api.client.get(f"{API}/users/{s.owner.user_id}", headers=s.admin.headers)).text,
        (await api.client.get(f"{API}/users/me", headers=s.attendee.headers)).text,
        (
            await api.client.get(f"{API}/events/{s.published}/attendees", headers=s.owner.headers)
        ).text,
        (await api.client.get(f"{API}/events", headers=s.admin.headers)).text,
    ]

    for body in bodies:
        assert "$2b$" not in body
        assert "password" not in body
        assert "hash" not in body


class Exploding(GetEvent):
    """GetEvent failing the way real code does, with internals in the message."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    async def execute(self, command: GetEventCommand) -> EventView:
        raise self._error


SQL = "SELECT users.password_hash FROM users WHERE users.email = $1"


@pytest.mark.server_errors_expected
@pytest.mark.parametrize(
    "error",
    [
        RuntimeError(f"Traceback (most recent call last): {SQL}"),
        sqlalchemy.exc.OperationalError(SQL, {"email": "a@b.c"}, Exception("asyncpg says no")),
        sqlalchemy.exc.IntegrityError(
            "INSERT INTO users ...", None, Exception('File "/app/x.py", line 1')
        ),
        KeyError("password_hash"),
    ],
    ids=["runtime", "operational", "integrity", "keyerror"],
)
async def test_an_unexpected_error_is_a_bare_500_problem_and_is_logged(
    api: Api, error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)
    caplog.set_level(logging.ERROR, logger="eventapi")

    with api.container.get_event.override(providers.Object(Exploding(error))):
        response = await api.client.get(
            f"{API}/events/{event['id']}", headers={"X-Request-ID": "boom-1"}
        )

    body = assert_problem(response, 500, "/problems/server-error")
    assert response.headers["x-request-id"] == "boom-1"
    assert "boom-1" in body["detail"]
    for leak in (
        "SELECT",
        "INSERT",
        "Traceback",
        'File "',
        "password_hash",
        "asyncpg",
        "sqlalchemy",
        "RuntimeError",
        "KeyError",
        "OperationalError",
    ):
        assert leak not in response.text, leak
    logged = [
        r for r in caplog.records if r.levelno >= logging.ERROR and "boom-1" in r.getMessage()
    ]
    assert logged, "the 500 was not logged with its request id"
    assert logged[0].exc_info is not None and logged[0].exc_info[1] is error


async def test_json_error_bodies_are_valid_json(api: Api) -> None:
    s = await scene(api)

    for raw in BAD_BODIES:
        response = await api.client.post(
            f"{API}/events",
            content=raw,
            headers={**s.owner.headers, "Content-Type": "application/json"},
        )
        assert response.status_code in {400, 413}, (raw[:20], response.status_code)
        json.loads(response.text)


@pytest.mark.server_errors_expected
async def test_a_dependency_litestar_cannot_build_is_a_logged_500(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="eventapi")
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)

    with api.container.get_event.override(providers.Object("not a use case")):
        response = await api.client.get(
            f"{API}/events/{event['id']}", headers={"X-Request-ID": "boom-2"}
        )

    assert_problem(response, 500, "/problems/server-error")
    assert "boom-2" in response.json()["detail"]
    assert any("boom-2" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)


@pytest.mark.parametrize(
    ("path", "name"),
    [("/events", "q"), ("/events", "city"), ("/events", "country"), ("/users", "q")],
)
async def test_a_nul_in_a_text_filter_is_a_400(api: Api, path: str, name: str) -> None:
    admin = await api.admin()

    response = await api.client.get(
        f"{API}{path}", params={name: "ber\x00lin"}, headers=admin.headers
    )

    body = assert_problem(response, 400)
    assert [error["field"] for error in body["errors"]] == [name]


async def test_a_body_nested_too_deeply_is_a_400(api: Api) -> None:
    nested = b"[" * 5000 + b"]" * 5000

    response = await api.client.post(
        f"{API}/auth/register", content=nested, headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 400)
