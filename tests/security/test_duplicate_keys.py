"""A JSON key given twice is a 400, not "the last one wins".

msgspec (and so Litestar) kept the last of two equal keys silently: a proxy or
a log that reads the first saw another request than the service did
(`{"status": "draft", "status": "published"}`). The key is named in the error,
however it is spelled (`\\u0073tatus` is `status` too), nested ones included.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import API, PASSWORD, Api, assert_problem

E = f"{API}/events"

EVENT_CHANGES = [
    (b'{"status": "draft", "status": "published"}', "status"),
    (b'{"title": "A", "capacity": 5, "title": "B"}', "title"),
    (b'{"\\u0074itle": "A", "title": "B"}', "title"),
    (b'{"location": {"city": "Berlin", "city": "Paris"}}', "city"),
    (b'{"capacity": 5,\n  "capacity" : 6}', "capacity"),
]


@pytest.mark.parametrize(("body", "field"), EVENT_CHANGES)
async def test_a_repeated_key_is_refused(api: Api, body: bytes, field: str) -> None:
    organizer = await api.admin()
    event = await api.create_event(organizer)
    before = api.snapshot()
    response = await api.client.patch(
        f"{E}/{event['id']}",
        content=body,
        headers={**organizer.headers, "Content-Type": "application/json"},
    )
    problem = assert_problem(response, 400, "/problems/invalid-input")
    assert problem["errors"] == [{"field": field, "message": "is given more than once"}]
    assert api.snapshot() == before


async def test_a_repeated_key_in_a_sign_up_is_refused(api: Api) -> None:
    body = (
        b'{"email": "a@example.org", "email": "b@example.org", "password": "'
        + PASSWORD.encode()
        + b'", "full_name": "A"}'
    )
    response = await api.client.post(
        f"{API}/auth/register", content=body, headers={"Content-Type": "application/json"}
    )
    problem = assert_problem(response, 400, "/problems/invalid-input")
    assert problem["errors"] == [{"field": "email", "message": "is given more than once"}]


async def test_equal_names_in_different_places_are_fine(api: Api) -> None:
    organizer = await api.admin()
    event = await api.create_event(organizer)
    body = b'{"title": "title", "description": "\\"title\\": \\u0074itle", "location": {}}'
    response = await api.client.patch(
        f"{E}/{event['id']}",
        content=body,
        headers={**organizer.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "title"
