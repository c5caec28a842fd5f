"""Who may call what: every (route, caller) pair of `/api/v1`, with the status each gets.

Callers: anonymous, an attendee, the organizer who owns the events, another
organizer, an admin, and an organizer the owner made co-organizer of all three
of their events. Each row of TABLE is one route (with one target, e.g. a
published or a draft event) and the status for each caller, in that order.

For every request the whole database is compared before and after: a refusal
(any 4xx) and any GET must change nothing at all. When a request did change
something, the world is rebuilt from scratch for the next caller, so each
caller meets the same starting state.

`test_the_table_covers_every_route` enumerates the app's routes, so a new route
without a row here fails the suite.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.routes import HTTPRoute

from application.use_cases.sign_up import SignUpCommand
from domain.users import Role
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from tests.e2e.conftest import (
    ANONYMOUS,
    API,
    PASSWORD,
    PROBLEM_JSON,
    Api,
    Caller,
    event_body,
    settings_for,
)

CALLERS = ("anonymous", "attendee", "owner", "other", "admin", "co-organizer")
#: Methods Litestar adds by itself to every route (CORS preflight); not part of the contract.
IMPLICIT_METHODS = {"OPTIONS", "HEAD"}


@dataclass
class World:
    callers: dict[str, Caller]
    #: An attendee nobody calls as: the target of the user-management routes.
    bystander: Caller
    #: published: an event everyone (callers and bystander) has joined; open: a
    #: published event nobody has joined; draft: an unpublished event; all by `owner`.
    #: registration: the bystander's registration for `published`; ticket: its code.
    ids: dict[str, str]

    def resolve(self, key: str, caller: Caller) -> str:
        if key == "self":
            return caller.user_id or self.bystander.user_id
        if key == "bystander":
            return self.bystander.user_id
        if key in self.callers:
            return self.callers[key].user_id
        return self.ids[key]


async def build_world(api: Api) -> World:
    people = {
        "admin": Role.ADMIN,
        "attendee": Role.ATTENDEE,
        "owner": Role.ORGANIZER,
        "other": Role.ORGANIZER,
        "co-organizer": Role.ORGANIZER,
        "bystander": Role.ATTENDEE,
    }
    emails = {name: api.email(name) for name in people}
    sign_up = api.container.sign_up()

    async def open_accounts() -> None:
        for name, role in people.items():
            command = SignUpCommand(
                email=emails[name], password=PASSWORD, full_name=f"{name.title()} Person"
            )
            await sign_up.open_account(command, role)

    api.run(open_accounts)
    signed_in = {name: await api.sign_in(name, emails[name]) for name in people}
    owner = signed_in["owner"]
    published = await api.create_event(owner, title="Published", status="published")
    open_event = await api.create_event(owner, title="Open", status="published")
    draft = await api.create_event(owner, title="Draft")
    for event in (published, open_event, draft):
        added = await api.client.post(
            f"{E}/{event['id']}/co-organizers",
            json={"user_id": signed_in["co-organizer"].user_id},
            headers=owner.headers,
        )
        assert added.status_code == 201, added.text
    registration = ticket = ""
    webhook = await api.client.post(
        f"{API}/webhooks",
        json={"url": "https://hooks.example.org/owner", "event_types": ["event.published"]},
        headers=owner.headers,
    )
    assert webhook.status_code == 201, webhook.text
    for name in ("attendee", "owner", "other", "admin", "co-organizer", "bystander"):
        joined = await api.join(signed_in[name], published["id"])
        if name == "bystander":
            registration, ticket = joined["id"], joined["ticket_code"]
    return World(
        callers={"anonymous": ANONYMOUS, **{name: signed_in[name] for name in CALLERS[1:]}},
        bystander=signed_in["bystander"],
        ids={
            "published": published["id"],
            "open": open_event["id"],
            "draft": draft["id"],
            "registration": registration,
            "ticket": ticket,
            "webhook": webhook.json()["id"],
        },
    )


Payload = Callable[[World, Caller], dict[str, Any]]
Check = Callable[[World, str, httpx.Response], str | None]


@dataclass(frozen=True)
class Row:
    method: str
    #: The route exactly as the app declares it, e.g. "/api/v1/events/{event_id:uuid}".
    route: str
    #: anonymous, attendee, owner, other organizer, admin, co-organizer.
    expected: tuple[int, int, int, int, int, int]
    #: Path parameters: name -> world key ("published", "draft", "self", ...).
    target: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    json: Payload | None = None
    form: Payload | None = None
    check: Check | None = None
    note: str = ""

    @property
    def id(self) -> str:
        targets = ",".join(self.target.values())
        query = "&".join(f"{k}={v}" for k, v in self.query.items())
        return f"{self.method} {self.route.removeprefix(API)}" + (
            f" [{targets}{'?' + query if query else ''}]" if targets or query else ""
        )

    def path(self, world: World, caller: Caller) -> str:
        def fill(match: re.Match[str]) -> str:
            return world.resolve(self.target[match.group(1)], caller)

        return re.sub(r"\{(\w+)(?::\w+)?\}", fill, self.route)


def _fresh_user(role: str) -> Payload:
    def payload(world: World, caller: Caller) -> dict[str, Any]:
        return {
            "email": f"fresh.{caller.name}.{role or 'attendee'}@example.org",
            "password": PASSWORD,
            "full_name": "Fresh Person",
            **({"role": role} if role else {}),
        }

    return payload


def _own_refresh_token(world: World, caller: Caller) -> dict[str, Any]:
    # The anonymous caller tries to revoke somebody else's session: it must survive.
    return {"token": (caller if caller.access_token else world.callers["attendee"]).refresh_token}


def _bystander_password_grant(world: World, caller: Caller) -> dict[str, Any]:
    return {"grant_type": "password", "username": world.bystander.email, "password": PASSWORD}


def _draft_listed_only_for_its_managers(
    world: World, caller: str, response: httpx.Response
) -> str | None:
    if response.status_code != 200:
        return None
    listed = {item["id"] for item in response.json()["items"]}
    sees = world.ids["draft"] in listed
    if sees != (caller in {"owner", "admin"}):  # not "co-organizer": see the row's note
        return f"draft listed: {sees}"
    return None


def _no_foreign_data(world: World, caller: str, response: httpx.Response) -> str | None:
    """A 404 for a hidden draft must not tell its title."""
    if response.status_code == 404 and "Draft" in response.text:
        return "the 404 names the draft"
    return None


def _own_export_only(world: World, caller: str, response: httpx.Response) -> str | None:
    """The export is the caller's own: their profile, and nobody else's registrations."""
    if response.status_code != 200:
        return None
    body = response.json()
    if body["profile"]["id"] != world.callers[caller].user_id:
        return "the export is of someone else"
    if world.ids["registration"] in response.text or world.bystander.email in response.text:
        return "the export shows the bystander's data"
    return None


def _bystanders_ticket(world: World, caller: Caller) -> dict[str, Any]:
    return {"ticket_code": world.ids["ticket"]}


def _ticket_shown_to_managers_only(
    world: World, caller: str, response: httpx.Response
) -> str | None:
    """A refusal must not echo the code; a check-in names the person, not the code."""
    if world.ids["ticket"] in response.text:
        return "the response shows the ticket code"
    return None


def _webhooks_listed_for_owner_and_admin(
    world: World, caller: str, response: httpx.Response
) -> str | None:
    if response.status_code != 200:
        return None
    sees = world.ids["webhook"] in {item["id"] for item in response.json()["items"]}
    if sees != (caller in {"owner", "admin"}):
        return f"the owner's webhook listed: {sees}"
    if "secret" in response.text:
        return "a listing shows a secret"
    return None


W = "/api/v1/webhooks"
WID = f"{W}/{{webhook_id:uuid}}"
E = "/api/v1/events"
EID = f"{E}/{{event_id:uuid}}"
U = "/api/v1/users"
UID = f"{U}/{{user_id:uuid}}"
CO = f"{EID}/co-organizers"

TABLE: list[Row] = [
    # -- auth ---------------------------------------------------------------------------
    Row("POST", f"{API}/auth/register", (201, 201, 201, 201, 201, 201), json=_fresh_user("")),
    Row(
        "POST", f"{API}/auth/token", (200, 200, 200, 200, 200, 200), form=_bystander_password_grant
    ),
    Row("POST", f"{API}/auth/revoke", (401, 200, 200, 200, 200, 200), form=_own_refresh_token),
    # -- account recovery and verification (anyone; resend: the signed-in caller) -----------
    Row(
        "POST",
        f"{API}/auth/password-reset",
        (202, 202, 202, 202, 202, 202),
        json=lambda w, c: {"email": w.bystander.email},
    ),
    Row(
        "POST",
        f"{API}/auth/password-reset/confirm",
        (400, 400, 400, 400, 400, 400),
        json=lambda w, c: {"token": "not-a-token-anyone-was-sent", "password": PASSWORD},
        note="the token is the credential: an unknown one is refused for everybody",
    ),
    Row(
        "POST",
        f"{API}/auth/verify-email",
        (400, 400, 400, 400, 400, 400),
        json=lambda w, c: {"token": "not-a-token-anyone-was-sent"},
    ),
    Row("POST", f"{API}/auth/verify-email/resend", (401, 202, 202, 202, 202, 202)),
    # -- own account ----------------------------------------------------------------------
    Row("GET", f"{U}/me", (401, 200, 200, 200, 200, 200)),
    Row(
        "PATCH",
        f"{U}/me",
        (401, 200, 200, 200, 200, 200),
        json=lambda w, c: {"full_name": "Renamed"},
    ),
    Row("DELETE", f"{U}/me", (401, 204, 204, 204, 409, 204), note="the only admin cannot leave"),
    Row("GET", f"{U}/me/registrations", (401, 200, 200, 200, 200, 200)),
    Row("GET", f"{U}/me/export", (401, 200, 200, 200, 200, 200), check=_own_export_only),
    Row("POST", f"{U}/me/calendar-feed", (401, 201, 201, 201, 201, 201)),
    Row(
        "DELETE",
        f"{U}/me/calendar-feed",
        (401, 204, 204, 204, 204, 204),
        note="no feed to revoke: 204 all the same (GET /calendar/{token}.ics, outside"
        " /api/v1, is tested in test_calendar_feed.py)",
    ),
    # -- user management (admin) -------------------------------------------------------
    Row("GET", U, (401, 403, 403, 403, 200, 403)),
    Row("POST", U, (401, 403, 403, 403, 201, 403), json=_fresh_user("organizer")),
    Row("GET", UID, (401, 403, 403, 403, 200, 403), target={"user_id": "bystander"}),
    Row(
        "GET",
        UID,
        (401, 403, 403, 403, 200, 403),
        target={"user_id": "self"},
        note="by id is for admins, even for one's own account (/users/me is for that)",
    ),
    Row(
        "PATCH",
        UID,
        (401, 403, 403, 403, 200, 403),
        target={"user_id": "bystander"},
        json=lambda w, c: {"role": "organizer"},
    ),
    Row(
        "PATCH",
        UID,
        (401, 403, 403, 403, 200, 403),
        target={"user_id": "self"},
        json=lambda w, c: {"role": "admin"},
        note="nobody promotes themselves",
    ),
    Row("DELETE", UID, (401, 403, 403, 403, 204, 403), target={"user_id": "bystander"}),
    # -- webhooks (organizers and admins create; owner or admin, others 404) ----------------
    Row(
        "POST",
        W,
        (401, 403, 201, 201, 201, 201),
        json=lambda w, c: {
            "url": "https://hooks.example.org/new",
            "event_types": ["event.updated"],
        },
    ),
    Row(
        "GET",
        W,
        (401, 200, 200, 200, 200, 200),
        check=_webhooks_listed_for_owner_and_admin,
        note="one's own endpoints (admins: all)",
    ),
    Row("GET", WID, (401, 404, 200, 404, 200, 404), target={"webhook_id": "webhook"}),
    Row(
        "PATCH",
        WID,
        (401, 404, 200, 404, 200, 404),
        target={"webhook_id": "webhook"},
        json=lambda w, c: {"description": "changed"},
    ),
    Row("DELETE", WID, (401, 404, 204, 404, 204, 404), target={"webhook_id": "webhook"}),
    Row(
        "POST",
        f"{WID}/rotate-secret",
        (401, 404, 200, 404, 200, 404),
        target={"webhook_id": "webhook"},
    ),
    Row("POST", f"{WID}/ping", (401, 404, 202, 404, 202, 404), target={"webhook_id": "webhook"}),
    Row(
        "GET", f"{WID}/deliveries", (401, 404, 200, 404, 200, 404), target={"webhook_id": "webhook"}
    ),
    # -- audit log (admin, read only) ----------------------------------------------------
    Row("GET", f"{API}/audit-events", (401, 403, 403, 403, 200, 403)),
    # -- events -------------------------------------------------------------------------
    Row("GET", E, (200, 200, 200, 200, 200, 200)),
    Row(
        "GET",
        E,
        (401, 403, 200, 200, 200, 200),
        query={"status": "draft"},
        check=_draft_listed_only_for_its_managers,
        note="one's own drafts (admins: all); a co-organizer reaches co-organized ones by id",
    ),
    Row("POST", E, (401, 403, 201, 201, 201, 201), json=lambda w, c: event_body()),
    Row("GET", EID, (200, 200, 200, 200, 200, 200), target={"event_id": "published"}),
    Row(
        "GET",
        EID,
        (404, 404, 200, 404, 200, 200),
        target={"event_id": "draft"},
        check=_no_foreign_data,
    ),
    Row(
        "PATCH",
        EID,
        (401, 403, 200, 403, 200, 200),
        target={"event_id": "published"},
        json=lambda w, c: {"title": "Changed"},
    ),
    Row(
        "PATCH",
        EID,
        (401, 404, 200, 404, 200, 200),
        target={"event_id": "draft"},
        json=lambda w, c: {"status": "published"},
        check=_no_foreign_data,
    ),
    Row("DELETE", EID, (401, 403, 204, 403, 204, 403), target={"event_id": "published"}),
    Row("DELETE", EID, (401, 404, 204, 404, 204, 403), target={"event_id": "draft"}),
    Row(
        "POST",
        f"{EID}/cancel",
        (401, 403, 200, 403, 200, 403),
        target={"event_id": "published"},
        json=lambda w, c: {"reason": "weather"},
    ),
    Row(
        "POST",
        f"{EID}/cancel",
        (401, 404, 409, 404, 409, 403),
        target={"event_id": "draft"},
        note="drafts are deleted, not cancelled",
    ),
    Row(
        "GET",
        f"{EID}/calendar.ics",
        (200, 200, 200, 200, 200, 200),
        target={"event_id": "published"},
    ),
    Row(
        "GET",
        f"{EID}/calendar.ics",
        (404, 404, 200, 404, 200, 200),
        target={"event_id": "draft"},
        check=_no_foreign_data,
    ),
    Row(
        "GET", f"{EID}/attendees", (401, 403, 200, 403, 200, 200), target={"event_id": "published"}
    ),
    Row("GET", f"{EID}/attendees", (401, 404, 200, 404, 200, 200), target={"event_id": "draft"}),
    # -- registrations ------------------------------------------------------------------
    Row(
        "POST", f"{EID}/registrations", (401, 201, 201, 201, 201, 201), target={"event_id": "open"}
    ),
    Row(
        "POST",
        f"{EID}/registrations",
        (401, 409, 409, 409, 409, 409),
        target={"event_id": "published"},
        note="everyone already holds a seat there",
    ),
    Row(
        "POST",
        f"{EID}/registrations",
        (401, 404, 409, 404, 409, 409),
        target={"event_id": "draft"},
        note="a draft is not joinable, and invisible to all but its managers",
    ),
    Row(
        "DELETE",
        f"{EID}/registrations/me",
        (401, 204, 204, 204, 204, 204),
        target={"event_id": "published"},
    ),
    Row(
        "DELETE",
        f"{EID}/registrations/me",
        (401, 404, 409, 404, 409, 409),
        target={"event_id": "draft"},
    ),
    Row(
        "DELETE",
        f"{EID}/registrations/{{registration_id:uuid}}",
        (401, 403, 204, 403, 204, 204),
        target={"event_id": "published", "registration_id": "registration"},
    ),
    Row(
        "DELETE",
        f"{EID}/registrations/{{registration_id:uuid}}",
        (401, 404, 404, 404, 404, 404),
        target={"event_id": "draft", "registration_id": "registration"},
        note="a registration is found only under its own event",
    ),
    # -- check-in (the event's managers) --------------------------------------------------
    Row(
        "POST",
        f"{EID}/check-ins",
        (401, 403, 201, 403, 201, 201),
        target={"event_id": "published"},
        json=_bystanders_ticket,
        check=_ticket_shown_to_managers_only,
    ),
    Row(
        "POST",
        f"{EID}/check-ins",
        (401, 404, 404, 404, 404, 404),
        target={"event_id": "draft"},
        json=_bystanders_ticket,
        check=_ticket_shown_to_managers_only,
        note="another event's ticket is unknown here; the draft itself is hidden from others",
    ),
    # -- co-organizers (add and remove: owner, admin; list: the event's managers) ----------
    Row(
        "POST",
        CO,
        (401, 403, 201, 403, 201, 403),
        target={"event_id": "published"},
        json=lambda w, c: {"user_id": w.resolve("other", c)},
    ),
    Row(
        "POST",
        CO,
        (401, 404, 201, 404, 201, 403),
        target={"event_id": "draft"},
        json=lambda w, c: {"user_id": w.resolve("other", c)},
        check=_no_foreign_data,
    ),
    Row("GET", CO, (401, 403, 200, 403, 200, 200), target={"event_id": "published"}),
    Row(
        "GET",
        CO,
        (401, 404, 200, 404, 200, 200),
        target={"event_id": "draft"},
        check=_no_foreign_data,
    ),
    Row(
        "DELETE",
        f"{CO}/{{user_id:uuid}}",
        (401, 403, 204, 403, 204, 403),
        target={"event_id": "published", "user_id": "co-organizer"},
        note="a co-organizer cannot step down, nor remove another: only the owner or an admin",
    ),
    Row(
        "DELETE",
        f"{CO}/{{user_id:uuid}}",
        (401, 404, 204, 404, 204, 403),
        target={"event_id": "draft", "user_id": "co-organizer"},
    ),
]


async def call(api: Api, row: Row, world: World, caller: Caller) -> httpx.Response:
    options: dict[str, Any] = {"headers": caller.headers, "params": row.query}
    if row.json is not None:
        options["json"] = row.json(world, caller)
    if row.form is not None:
        options["data"] = row.form(world, caller)
    return await api.client.request(row.method, row.path(world, caller), **options)


@pytest.mark.parametrize("row", TABLE, ids=[row.id for row in TABLE])
async def test_access(api: Api, row: Row) -> None:
    world: World | None = None
    failures: list[str] = []

    for name, expected in zip(CALLERS, row.expected, strict=True):
        if world is None:
            api.wipe()
            world = await build_world(api)
        caller = world.callers[name]
        before = api.snapshot()

        response = await call(api, row, world, caller)

        after = api.snapshot()
        status = response.status_code
        if status != expected:
            failures.append(f"{name}: expected {expected}, got {status}: {response.text[:200]}")
        if status >= 400:
            if not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
                failures.append(f"{name}: a {status} that is not problem+json")
            if after != before:
                failures.append(f"{name}: refused with {status}, yet the database changed")
        elif row.method == "GET" and after != before:
            failures.append(f"{name}: a GET changed the database")
        if row.check is not None and (problem := row.check(world, name, response)):
            failures.append(f"{name}: {problem}")
        if after != before:
            world = None  # the next caller starts from the same state as this one did

    assert not failures, f"{row.id}\n" + "\n".join(failures)


def test_the_table_covers_every_route(tmp_path: Path) -> None:
    """Every (path, method) under /api/v1 has at least one row, and every row names a
    real route, so the table cannot silently fall behind the app."""
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path}/never-opened.db", tmp_path)
    app = create_app(build_container(settings))
    routes = {
        (route.path, method)
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith(API)
        for method in route.methods - IMPLICIT_METHODS
    }
    covered = {(row.route, row.method) for row in TABLE}

    assert routes - covered == set(), "routes without an access-control row"
    assert covered - routes == set(), "rows for routes the app does not have"
    assert len(routes) >= 20


def test_every_row_names_six_callers_and_real_targets() -> None:
    for row in TABLE:
        assert len(row.expected) == len(CALLERS)
        parameters = set(re.findall(r"\{(\w+)(?::\w+)?\}", row.route))
        assert parameters == set(row.target), row.id
