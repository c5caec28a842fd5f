"""Broken function-level authorization and mass assignment (OWASP API5 and API3:2023).

Mass assignment: every write route, called by a caller who *may* use it, with
one privileged or server-owned field added to an otherwise valid body (`role`,
`is_active`, `organizer_id`, the seat counters, `id`, timestamps, `status`
where the route does not take one, ...). Each is a 400 problem naming that
field as unknown, and the database is unchanged: no field is silently dropped,
none is silently applied. Routes that take no body at all (joining, the
DELETEs) refuse one that carries fields, for the same reason.

Function level: the calls that would raise a caller's own privileges (making
oneself admin, creating accounts with roles, creating events as an attendee,
editing someone else's event) are refused with 403 and change nothing, and the
OAuth2 token endpoint, which RFC 6749 §3.2 makes ignore unknown parameters,
gives a `role=admin` sender an ordinary attendee's token.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from application.use_cases.sign_up import SignUpCommand
from domain.users import Role
from tests.e2e.conftest import API, PASSWORD, Api, Caller, assert_problem, event_body

E = f"{API}/events"
U = f"{API}/users"
LONG_AGO = "2000-01-01T00:00:00Z"


@dataclass
class World:
    admin: Caller
    owner: Caller
    attendee: Caller
    bystander: Caller
    ids: dict[str, str]


async def build_world(api: Api) -> World:
    people = {
        "admin": Role.ADMIN,
        "owner": Role.ORGANIZER,
        "attendee": Role.ATTENDEE,
        "bystander": Role.ATTENDEE,
    }
    emails = {name: api.email(name) for name in people}
    sign_up = api.container.sign_up()

    async def open_accounts() -> None:
        for name, role in people.items():
            command = SignUpCommand(email=emails[name], password=PASSWORD, full_name=name.title())
            await sign_up.open_account(command, role)

    api.run(open_accounts)
    callers = {name: await api.sign_in(name, emails[name]) for name in people}
    event = await api.create_event(callers["owner"], title="Owned", status="published")
    draft = await api.create_event(callers["owner"], title="Owned draft")
    registration = await api.join(callers["bystander"], event["id"])
    await api.join(callers["attendee"], event["id"])
    return World(
        admin=callers["admin"],
        owner=callers["owner"],
        attendee=callers["attendee"],
        bystander=callers["bystander"],
        ids={"event": event["id"], "draft": draft["id"], "registration": registration["id"]},
    )


def privileged(world: World) -> dict[str, Any]:
    """Field -> the value an attacker would like it to have."""
    return {
        "role": "admin",
        "is_active": True,
        "is_admin": True,
        "organizer_id": world.attendee.user_id,
        "organizer": {"id": world.attendee.user_id, "full_name": "Attacker"},
        "user_id": world.bystander.user_id,
        "event_id": world.ids["draft"],
        "attendee_count": 0,
        "available_seats": 100_000,
        "waitlist_count": 0,
        "waitlist_position": 1,
        "sequence": 0,
        "revision": 0,
        "id": str(uuid.uuid4()),
        "created_at": LONG_AGO,
        "updated_at": LONG_AGO,
        "password_hash": "$2b$04$" + "a" * 53,
        "email_verified": True,
        "status": "confirmed",
    }


@dataclass(frozen=True)
class WriteRoute:
    name: str
    method: str
    path: Callable[[World], str]
    caller: Callable[[World], Caller]
    body: Callable[[World], dict[str, Any]]
    #: Privileged fields this route legitimately takes (for this caller).
    takes: frozenset[str] = frozenset()


def _fresh_account(role: str | None) -> Callable[[World], dict[str, Any]]:
    def body(world: World) -> dict[str, Any]:
        fresh = {"email": f"new.{uuid.uuid4().hex[:8]}@example.org", "password": PASSWORD}
        return {**fresh, "full_name": "New", **({"role": role} if role else {})}

    return body


ROUTES = [
    WriteRoute(
        "register", "POST", lambda w: f"{API}/auth/register", lambda w: Caller("anonymous"),
        _fresh_account(None),
    ),
    WriteRoute(
        "update me", "PATCH", lambda w: f"{U}/me", lambda w: w.attendee,
        lambda w: {"full_name": "Renamed"},
    ),
    WriteRoute(
        "create user", "POST", lambda w: U, lambda w: w.admin, _fresh_account("attendee"),
        takes=frozenset({"role"}),
    ),
    WriteRoute(
        "update user", "PATCH", lambda w: f"{U}/{w.bystander.user_id}", lambda w: w.admin,
        lambda w: {"full_name": "Renamed"}, takes=frozenset({"role", "is_active"}),
    ),
    WriteRoute(
        "create event", "POST", lambda w: E, lambda w: w.owner, lambda w: event_body(),
        takes=frozenset({"status"}),  # draft or published: see the test on statuses
    ),
    WriteRoute(
        "update event", "PATCH", lambda w: f"{E}/{w.ids['event']}", lambda w: w.owner,
        lambda w: {"title": "Renamed"}, takes=frozenset({"status"}),
    ),
    WriteRoute(
        "update event location", "PATCH", lambda w: f"{E}/{w.ids['event']}", lambda w: w.owner,
        lambda w: {"location": {"city": "Paris"}},
    ),
    WriteRoute(
        "join", "POST", lambda w: f"{E}/{w.ids['event']}/registrations", lambda w: w.admin,
        lambda w: {},
    ),
    WriteRoute(
        "leave", "DELETE", lambda w: f"{E}/{w.ids['event']}/registrations/me",
        lambda w: w.attendee, lambda w: {},
    ),
    WriteRoute(
        "remove attendee", "DELETE",
        lambda w: f"{E}/{w.ids['event']}/registrations/{w.ids['registration']}",
        lambda w: w.owner, lambda w: {},
    ),
    WriteRoute(
        "delete event", "DELETE", lambda w: f"{E}/{w.ids['draft']}", lambda w: w.owner,
        lambda w: {},
    ),
    WriteRoute("close my account", "DELETE", lambda w: f"{U}/me", lambda w: w.attendee,
               lambda w: {}),
    WriteRoute(
        "delete user", "DELETE", lambda w: f"{U}/{w.bystander.user_id}", lambda w: w.admin,
        lambda w: {},
    ),
    WriteRoute(
        "cancel event", "POST", lambda w: f"{E}/{w.ids['event']}/cancel", lambda w: w.owner,
        lambda w: {"reason": "weather"},
    ),
]  # fmt: skip


async def test_privileged_fields_are_refused_by_name_on_every_write_route(api: Api) -> None:
    world = await build_world(api)
    failures: list[str] = []
    tried = 0
    before = api.snapshot()

    for route in ROUTES:
        for field, value in privileged(world).items():
            if field in route.takes:
                continue
            body = route.body(world)
            if route.name == "update event location":
                body = {"location": {**body["location"], field: value}}
                expected_field = f"location.{field}"
            else:
                body[field] = value
                expected_field = field
            caller = route.caller(world)
            response = await api.client.request(
                route.method, route.path(world), json=body, headers=caller.headers
            )
            tried += 1
            where = f"{route.name} + {field}"
            if response.status_code != 400:
                failures.append(f"{where}: {response.status_code} {response.text[:150]}")
            else:
                problem = assert_problem(response, 400, "/problems/invalid-input")
                named = {(e["field"], e["message"]) for e in problem.get("errors", [])}
                if (expected_field, "is not a known field") not in named:
                    failures.append(f"{where}: the 400 does not name it: {named}")
            after = api.snapshot()
            if after != before:
                failures.append(f"{where}: the database changed")
                before = after

    assert not failures, "\n".join(failures)
    assert tried >= 200


async def test_the_same_routes_work_without_the_privileged_field(api: Api) -> None:
    """The control: each base body alone is accepted, so the 400s above are the field's."""
    world = await build_world(api)

    for route in ROUTES:
        response = await api.client.request(
            route.method,
            route.path(world),
            json=route.body(world) or None,
            headers=route.caller(world).headers,
        )
        assert response.status_code in {200, 201, 204}, (route.name, response.text)


async def test_a_status_a_route_does_not_allow_is_refused(api: Api) -> None:
    world = await build_world(api)
    before = api.snapshot()

    born_cancelled = await api.client.post(
        E, json=event_body(status="cancelled"), headers=world.owner.headers
    )
    back_to_draft = await api.client.patch(
        f"{E}/{world.ids['event']}", json={"status": "draft"}, headers=world.owner.headers
    )

    assert_problem(born_cancelled, 400, "/problems/invalid-input")
    assert back_to_draft.status_code == 409, back_to_draft.text
    assert api.snapshot() == before


async def test_nobody_raises_their_own_privileges(api: Api) -> None:
    world = await build_world(api)
    organizer, attendee = world.owner, world.attendee
    attempts: list[tuple[str, str, str, Caller, dict[str, Any] | None, int]] = [
        ("attendee makes itself admin", "PATCH", f"{U}/{attendee.user_id}", attendee,
         {"role": "admin"}, 403),
        ("attendee reactivates / renames someone", "PATCH", f"{U}/{world.bystander.user_id}",
         attendee, {"is_active": True, "full_name": "x"}, 403),
        ("organizer makes itself admin", "PATCH", f"{U}/{organizer.user_id}", organizer,
         {"role": "admin"}, 403),
        ("attendee creates an admin", "POST", U, attendee,
         {"email": "a@example.org", "password": PASSWORD, "full_name": "A", "role": "admin"}, 403),
        ("organizer creates an admin", "POST", U, organizer,
         {"email": "b@example.org", "password": PASSWORD, "full_name": "B", "role": "admin"}, 403),
        ("attendee creates an event", "POST", E, attendee, event_body(), 403),
        ("attendee publishes someone's draft", "PATCH", f"{E}/{world.ids['draft']}", attendee,
         {"status": "published"}, 404),
        ("attendee edits someone's event", "PATCH", f"{E}/{world.ids['event']}", attendee,
         {"capacity": 100_000}, 403),
        ("attendee lists all users", "GET", U, attendee, None, 403),
        ("attendee removes a registration", "DELETE",
         f"{E}/{world.ids['event']}/registrations/{world.ids['registration']}", attendee, None,
         403),
    ]  # fmt: skip
    before = api.snapshot()

    for name, method, path, caller, body, expected in attempts:
        response = await api.client.request(method, path, json=body, headers=caller.headers)
        assert response.status_code == expected, (name, response.text)
        assert api.snapshot() == before, name

    # OAuth2 ignores unknown parameters (RFC 6749 §3.2): asking for a role gets nothing.
    signed_in = await api.token(
        grant_type="password", username=attendee.email, password=PASSWORD, role="admin",
        scope="admin",
    )  # fmt: skip
    assert signed_in.status_code == 200
    token = signed_in.json()["access_token"]
    me = await api.client.get(f"{U}/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "attendee"
    listing = await api.client.get(U, headers={"Authorization": f"Bearer {token}"})
    assert listing.status_code == 403
