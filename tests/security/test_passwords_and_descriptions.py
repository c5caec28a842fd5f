"""Smaller holes in what an account or an event may hold.

- The common-password check compared the exact text: `' password1234'` (or
  fullwidth letters) passed it. The list compares a normalised form now.
- Twelve NUL characters were a password. Control characters are refused.
- A 10,000-character description could come back 50,000 long once escaped
  (`&` -> `&amp;`): the stored, returned form is bounded, not only the input.
"""

from __future__ import annotations

import pytest

from domain.event import MAX_DESCRIPTION
from tests.e2e.conftest import API, PASSWORD, Api, assert_problem, event_body

COMMON_IN_DISGUISE = [
    " password1234",
    "password1234 ",
    "\tpassword1234\n",
    "PASSWORD1234",
    "".join(chr(ord(ch) + 0xFEE0) for ch in "password1234"),  # FULLWIDTH look-alikes
]
CONTROL = ["\x00" * 12, "long enough\x00password", "long enough\x1bpassword", "long\x7fenough pass"]


@pytest.mark.parametrize("password", COMMON_IN_DISGUISE + CONTROL)
async def test_disguised_common_and_control_character_passwords_are_refused(
    api: Api, password: str
) -> None:
    before = api.snapshot()
    response = await api.register(api.email("weak"), password=password)
    problem = assert_problem(response, 400, "/problems/invalid-input")
    assert [error["field"] for error in problem["errors"]] == ["password"]
    assert api.snapshot() == before

    me = await api.user()
    changed = await api.client.patch(
        f"{API}/users/me",
        json={"password": password, "current_password": PASSWORD},
        headers=me.headers,
    )
    problem = assert_problem(changed, 400, "/problems/invalid-input")
    assert [error["field"] for error in problem["errors"]] == ["password"]


async def test_a_description_is_never_returned_longer_than_the_limit(api: Api) -> None:
    organizer = await api.admin()
    event = await api.create_event(organizer)
    before = api.snapshot()
    escaping = ("&" * MAX_DESCRIPTION, "<" * MAX_DESCRIPTION, "a&" * (MAX_DESCRIPTION // 2))
    for description in escaping:
        created = await api.client.post(
            f"{API}/events", json=event_body(description=description), headers=organizer.headers
        )
        changed = await api.client.patch(
            f"{API}/events/{event['id']}",
            json={"description": description},
            headers=organizer.headers,
        )
        for response in (created, changed):
            problem = assert_problem(response, 400, "/problems/invalid-input")
            assert [error["field"] for error in problem["errors"]] == ["description"]
    assert api.snapshot() == before

    fits = "&" * (MAX_DESCRIPTION // 5)  # 2,000 ampersands: exactly 10,000 once escaped
    kept = await api.create_event(organizer, description=fits)
    assert kept["description"] == "&amp;" * (MAX_DESCRIPTION // 5)
    listed = await api.client.get(f"{API}/events/{kept['id']}", headers=organizer.headers)
    assert len(listed.json()["description"]) <= MAX_DESCRIPTION
