"""SQL injection (OWASP API8:2023 / ASVS V5.3.4): classic payloads in every string
query parameter and every string body field, on SQLite and PostgreSQL.

- No payload gets a 5xx, and none delays the answer (a `pg_sleep(3)` that ran
  would take 3 s).
- As a filter, a payload finds nothing (no seeded row contains it): a tautology
  that reached the SQL would list everything.
- In a body, a payload is refused (400) or stored exactly as sent: what comes
  back is the literal text, which is what binding it as a parameter gives.
- The results of benign queries are the same before and after the barrage, and
  no table was dropped or emptied.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from application.use_cases.sign_up import SignUpCommand
from domain.users import Role
from tests.e2e.conftest import API, PASSWORD, Api, Caller, event_body, in_days, rfc3339

E = f"{API}/events"
U = f"{API}/users"
SLOW_SECONDS = 2.5

PAYLOADS = (
    "' OR '1'='1",
    "' OR 1=1 --",
    '" OR ""="',
    "') OR ('1'='1",
    "admin'--",
    "1; DROP TABLE events; --",
    "'; DROP TABLE users; --",
    "' UNION SELECT id, email, password_hash FROM users --",
    "' || (SELECT password_hash FROM users LIMIT 1) || '",
    "'; SELECT pg_sleep(3); --",
    "1' AND (SELECT 1 FROM pg_sleep(3)) = '1",
    "' AND randomblob(500000000) AND '",
    "%",
    "_",
    "%' --",
    "\\'; --",
    "$1",
    ":title",
    "?",
    "' OR 'x' LIKE '%",
    "1) OR (1=1",
    "\u02bc OR \u02bc1\u02bc=\u02bc1",  # U+02BC apostrophes: a filter bypass classic
)


@dataclass
class World:
    admin: Caller
    owner: Caller
    attendee: Caller
    event: str
    draft: str


async def build_world(api: Api) -> World:
    people = {"admin": Role.ADMIN, "owner": Role.ORGANIZER, "attendee": Role.ATTENDEE}
    emails = {name: api.email(name) for name in people}
    sign_up = api.container.sign_up()

    async def open_accounts() -> None:
        for name, role in people.items():
            command = SignUpCommand(
                email=emails[name], password=PASSWORD, full_name=f"Seeded {name.title()}"
            )
            await sign_up.open_account(command, role)

    api.run(open_accounts)
    callers = {name: await api.sign_in(name, emails[name]) for name in people}
    published = []
    places = (("Berlin", 52.52, 13.40), ("Hamburg", 53.55, 10.0), ("Berlin", 52.5, 13.3))
    for number, (city, latitude, longitude) in enumerate(places):
        published.append(
            await api.published_event(
                callers["owner"],
                title=f"Interop evening {'xyz'[number]}",
                description="<p>Talks and <b>pizza</b>.</p>",
                starts_at=rfc3339(in_days(30 + number)),
                ends_at=rfc3339(in_days(30 + number, hours=2)),
                location={
                    "venue": "Hall",
                    "address": "Street",
                    "city": city,
                    "country": "DE",
                    "latitude": latitude,
                    "longitude": longitude,
                },
            )
        )
    await api.join(callers["attendee"], published[0]["id"])
    draft = await api.create_event(callers["owner"], title="Quiet draft")
    return World(
        admin=callers["admin"],
        owner=callers["owner"],
        attendee=callers["attendee"],
        event=published[0]["id"],
        draft=draft["id"],
    )


@dataclass(frozen=True)
class Filter:
    """A listing with one string parameter set to the payload."""

    path: Callable[[World], str]
    parameter: str
    caller: Callable[[World], Caller]
    #: Whether a payload as this filter must find nothing (free text and exact matches).
    finds_nothing: bool = True
    extra: tuple[tuple[str, str], ...] = ()


FILTERS = [
    Filter(lambda w: E, "q", lambda w: w.attendee),
    Filter(lambda w: E, "city", lambda w: w.attendee),
    Filter(lambda w: E, "country", lambda w: w.attendee),
    Filter(lambda w: E, "q", lambda w: w.owner, extra=(("status", "draft"),)),
    Filter(lambda w: E, "starts_from", lambda w: w.attendee),
    Filter(lambda w: E, "starts_to", lambda w: w.attendee),
    Filter(lambda w: E, "near", lambda w: w.attendee, extra=(("radius_km", "50"),)),
    Filter(lambda w: E, "radius_km", lambda w: w.attendee, extra=(("near", "52.5,13.4"),)),
    Filter(lambda w: E, "organizer_id", lambda w: w.attendee),
    Filter(lambda w: E, "status", lambda w: w.owner),
    Filter(lambda w: E, "sort", lambda w: w.attendee),
    Filter(lambda w: E, "available", lambda w: w.attendee),
    Filter(lambda w: E, "cursor", lambda w: w.attendee),
    Filter(lambda w: E, "limit", lambda w: w.attendee),
    Filter(lambda w: U, "q", lambda w: w.admin),
    Filter(lambda w: U, "role", lambda w: w.admin),
    Filter(lambda w: U, "is_active", lambda w: w.admin),
    Filter(lambda w: U, "cursor", lambda w: w.admin),
    Filter(lambda w: f"{U}/me/registrations", "upcoming", lambda w: w.attendee),
    Filter(lambda w: f"{U}/me/registrations", "cursor", lambda w: w.attendee),
    Filter(lambda w: f"{E}/{w.event}/attendees", "status", lambda w: w.owner),
    Filter(lambda w: f"{E}/{w.event}/attendees", "cursor", lambda w: w.owner),
]


@dataclass(frozen=True)
class Field:
    """A write with one string field of a valid body set to the payload."""

    name: str
    method: str
    path: Callable[[World], str]
    caller: Callable[[World], Caller]
    body: Callable[[World, str], dict[str, Any]]
    #: Where the field comes back in the response (None: it does not, or not verbatim).
    echo: Callable[[dict[str, Any]], Any] | None = None
    form: bool = False


def _location(payload: str, key: str) -> dict[str, Any]:
    location = {"venue": "Hall", "address": "Street", "city": "Oslo", "country": "NO"}
    return {**location, key: payload}


def _fresh(payload: str) -> str:
    return f"sqli.{uuid.uuid4().hex[:8]}@example.org"


FIELDS = [
    Field("register email", "POST", lambda w: f"{API}/auth/register", lambda w: Caller("anon"),
          lambda w, p: {"email": p, "password": PASSWORD, "full_name": "X"}),
    Field("register full_name", "POST", lambda w: f"{API}/auth/register",
          lambda w: Caller("anon"),
          lambda w, p: {"email": _fresh(p), "password": PASSWORD, "full_name": p},
          echo=lambda r: r["full_name"]),
    Field("register password", "POST", lambda w: f"{API}/auth/register",
          lambda w: Caller("anon"),
          lambda w, p: {"email": _fresh(p), "password": p + " " + PASSWORD, "full_name": "X"}),
    Field("token username", "POST", lambda w: f"{API}/auth/token", lambda w: Caller("anon"),
          lambda w, p: {"grant_type": "password", "username": p, "password": PASSWORD},
          form=True),
    Field("token password", "POST", lambda w: f"{API}/auth/token", lambda w: Caller("anon"),
          lambda w, p: {"grant_type": "password", "username": "x@example.org", "password": p},
          form=True),
    Field("token refresh_token", "POST", lambda w: f"{API}/auth/token", lambda w: Caller("anon"),
          lambda w, p: {"grant_type": "refresh_token", "refresh_token": p}, form=True),
    Field("token grant_type", "POST", lambda w: f"{API}/auth/token", lambda w: Caller("anon"),
          lambda w, p: {"grant_type": p}, form=True),
    Field("revoke token", "POST", lambda w: f"{API}/auth/revoke", lambda w: w.attendee,
          lambda w, p: {"token": p}, form=True),
    Field("update me full_name", "PATCH", lambda w: f"{U}/me", lambda w: w.attendee,
          lambda w, p: {"full_name": p}, echo=lambda r: r["full_name"]),
    Field("update me current_password", "PATCH", lambda w: f"{U}/me", lambda w: w.attendee,
          lambda w, p: {"password": "another long passphrase", "current_password": p}),
    Field("create user email", "POST", lambda w: U, lambda w: w.admin,
          lambda w, p: {"email": p, "password": PASSWORD, "full_name": "X", "role": "attendee"}),
    Field("create user full_name", "POST", lambda w: U, lambda w: w.admin,
          lambda w, p: {"email": _fresh(p), "password": PASSWORD, "full_name": p,
                        "role": "attendee"}, echo=lambda r: r["full_name"]),
    Field("create user role", "POST", lambda w: U, lambda w: w.admin,
          lambda w, p: {"email": _fresh(p), "password": PASSWORD, "full_name": "X", "role": p}),
    Field("update user role", "PATCH", lambda w: f"{U}/{w.attendee.user_id}", lambda w: w.admin,
          lambda w, p: {"role": p}),
    Field("create event title", "POST", lambda w: E, lambda w: w.owner,
          lambda w, p: event_body(title=p, location=_location("Hall", "venue")),
          echo=lambda r: r["title"]),
    Field("create event timezone", "POST", lambda w: E, lambda w: w.owner,
          lambda w, p: event_body(timezone=p, location=_location("Hall", "venue"))),
    Field("create event starts_at", "POST", lambda w: E, lambda w: w.owner,
          lambda w, p: event_body(starts_at=p, location=_location("Hall", "venue"))),
    Field("create event status", "POST", lambda w: E, lambda w: w.owner,
          lambda w, p: event_body(status=p, location=_location("Hall", "venue"))),
    *(
        Field(f"create event location.{key}", "POST", lambda w: E, lambda w: w.owner,
              lambda w, p, key=key: event_body(location=_location(p, key)),  # type: ignore[misc]
              echo=lambda r, key=key: r["location"][key])  # type: ignore[misc]
        for key in ("venue", "address", "city", "country")
    ),
    Field("update draft title", "PATCH", lambda w: f"{E}/{w.draft}", lambda w: w.owner,
          lambda w, p: {"title": p}, echo=lambda r: r["title"]),
    Field("update draft city", "PATCH", lambda w: f"{E}/{w.draft}", lambda w: w.owner,
          lambda w, p: {"location": {"city": p}}, echo=lambda r: r["location"]["city"]),
    Field("update draft status", "PATCH", lambda w: f"{E}/{w.draft}", lambda w: w.owner,
          lambda w, p: {"status": p}),
    Field("cancel reason", "POST", lambda w: f"{E}/{w.draft}/cancel", lambda w: w.owner,
          lambda w, p: {"reason": p}),
]  # fmt: skip


def benign(world: World) -> list[tuple[str, Caller, dict[str, str]]]:
    return [
        (E, world.attendee, {}),
        (E, world.attendee, {"q": "interop"}),
        (E, world.attendee, {"city": "Berlin"}),
        (E, world.attendee, {"country": "de", "sort": "-starts_at"}),
        (E, world.attendee, {"near": "53.55,10.0", "radius_km": "30"}),
        (U, world.admin, {"role": "organizer"}),
        (U, world.admin, {"q": world.owner.email.upper()}),
        (f"{U}/me/registrations", world.attendee, {}),
        (f"{E}/{world.event}/attendees", world.owner, {}),
    ]


async def results(api: Api, world: World) -> list[Any]:
    found = []
    for path, caller, params in benign(world):
        response = await api.client.get(path, params=params, headers=caller.headers)
        assert response.status_code == 200, response.text
        found.append([(item["id"], item.get("title")) for item in response.json()["items"]])
    return found


async def timed(api: Api, method: str, path: str, **options: Any) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = await api.client.request(method, path, **options)
    return time.perf_counter() - started, response


async def test_payloads_in_every_parameter_and_field_are_inert(api: Api) -> None:
    world = await build_world(api)
    before = await results(api, world)
    assert [len(found) for found in before[:5]] == [3, 3, 2, 3, 1]  # the queries find things
    failures: list[str] = []
    requests = 0

    # Reads first: the writes below store payloads, which later filters would then find.
    for payload in PAYLOADS:
        for listing in FILTERS:
            params = {**dict(listing.extra), listing.parameter: payload}
            elapsed, response = await timed(
                api,
                "GET",
                listing.path(world),
                params=params,
                headers=listing.caller(world).headers,
            )
            requests += 1
            where = f"GET {listing.path(world)} {params!r}"
            if response.status_code >= 500 or elapsed > SLOW_SECONDS:
                failures.append(f"{where}: {response.status_code} in {elapsed:.1f} s")
            elif (
                response.status_code == 200
                and listing.finds_nothing
                and (items := response.json()["items"])
            ):
                failures.append(f"{where}: found {len(items)}")
    for payload in PAYLOADS:
        for field in FIELDS:
            body = field.body(world, payload)
            options: dict[str, Any] = {"data": body} if field.form else {"json": body}
            elapsed, response = await timed(
                api, field.method, field.path(world), headers=field.caller(world).headers, **options
            )
            requests += 1
            where = f"{field.name}={payload!r}"
            if response.status_code >= 500 or elapsed > SLOW_SECONDS:
                failures.append(f"{where}: {response.status_code} in {elapsed:.1f} s")
            elif (
                response.status_code < 300
                and field.echo is not None
                and (stored := field.echo(response.json())) != payload
            ):
                failures.append(f"{where}: stored as {stored!r}")

    after = await results(api, world)
    assert not failures, "\n".join(failures)
    assert after == before
    assert requests >= len(PAYLOADS) * 40
