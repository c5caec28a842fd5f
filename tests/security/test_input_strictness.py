"""What schemathesis found, pinned down: JSON of the wrong type is refused, not
coerced; RFC 7009 revocation needs its token; `Allow` names every method.

- Type confusion: Litestar converts bodies leniently, so `"is_active": 0`
  deactivated an account and `"capacity": "10"` was a capacity. Each wrong
  type is a 400 naming the field now, and changes nothing.
- POST /auth/revoke without `token` answered 200 as if it had signed out.
- OPTIONS on a route with several handlers listed only one of its methods.
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar.routes import HTTPRoute

from domain.users import Role
from tests.e2e.conftest import API, Api, assert_problem, event_body

E = f"{API}/events"
U = f"{API}/users"

#: (route kind, field, a value of the wrong JSON type that lenient decoding would take)
CONFUSIONS: list[tuple[str, str, Any]] = [
    ("update user", "is_active", 0),
    ("update user", "is_active", "false"),
    ("update user", "role", 1),
    ("update event", "capacity", "10"),
    ("update event", "capacity", 10.0),
    ("update event", "waitlist_enabled", 1),
    ("update event", "waitlist_enabled", "true"),
    ("update event", "title", 12345),
    ("create event", "capacity", "5"),
    ("create event", "starts_at", 1893456000),
    ("update me", "full_name", ["Ada"]),
    ("register", "email", {"$ne": ""}),
]


async def test_json_of_the_wrong_type_is_refused_not_coerced(api: Api) -> None:
    admin = await api.admin()
    organizer = await api.user(Role.ORGANIZER)
    attendee = await api.user()
    event = await api.create_event(organizer)
    routes = {
        "update user": ("PATCH", f"{U}/{attendee.user_id}", admin.headers, {}),
        "update event": ("PATCH", f"{E}/{event['id']}", organizer.headers, {}),
        "create event": ("POST", E, organizer.headers, event_body()),
        "update me": ("PATCH", f"{U}/me", attendee.headers, {}),
        "register": (
            "POST",
            f"{API}/auth/register",
            {},
            {"email": "x@example.org", "password": "long enough passphrase", "full_name": "X"},
        ),
    }
    before = api.snapshot()

    for route, field, value in CONFUSIONS:
        method, path, headers, body = routes[route]
        response = await api.client.request(
            method, path, json={**body, field: value}, headers=headers
        )
        problem = assert_problem(response, 400, "/problems/invalid-input")
        assert [error["field"] for error in problem["errors"]] == [field], (route, value, problem)

    assert api.snapshot() == before


async def test_revoking_needs_a_token(api: Api) -> None:
    attendee = await api.user()

    for form in ({}, {"token": ""}, {"token_type_hint": "refresh_token"}):
        response = await api.client.post(f"{API}/auth/revoke", data=form, headers=attendee.headers)
        problem = assert_problem(response, 400, "/problems/invalid-input")
        assert problem["errors"] == [{"field": "token", "message": "is required"}]
    assert (await api.client.get(f"{U}/me", headers=attendee.headers)).status_code == 200


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_options_lists_every_method_of_the_route(api: Api) -> None:
    admin = await api.admin()
    some_id = admin.user_id
    checked = 0

    for route in api.app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith(API):
            continue
        path = route.path.replace("{event_id:uuid}", some_id)
        path = path.replace("{user_id:uuid}", some_id)
        path = path.replace("{registration_id:uuid}", some_id)
        path = path.replace("{webhook_id:uuid}", some_id)
        response = await api.client.options(path, headers=admin.headers)
        assert response.status_code == 204, (path, response.text)
        allowed = {method.strip() for method in response.headers["allow"].split(",")}
        head = {"HEAD"} if "GET" in route.methods else set()  # GET's body-less twin
        assert allowed == set(route.methods) | head, path
        checked += 1

    assert checked >= 15
