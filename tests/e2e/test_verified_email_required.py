"""EVENTAPI_REQUIRE_VERIFIED_EMAIL=on over HTTP, on SQLite and PostgreSQL: an
unverified user signs in, but joining or creating an event is 403
/problems/email-unverified (and changes nothing) until the address is verified."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from domain.users import Role
from tests.e2e.conftest import API, Api, Caller, assert_problem, event_body
from tests.e2e.test_account_recovery import mailed


@pytest.fixture
def settings_overrides() -> Mapping[str, str]:
    return {"EVENTAPI_REQUIRE_VERIFIED_EMAIL": "on"}


async def verified(api: Api, caller: Caller) -> None:
    [welcome] = mailed(api, caller.user_id, "welcome")
    response = await api.client.post(f"{API}/auth/verify-email", json={"token": welcome["token"]})
    assert response.status_code == 204, response.text


async def test_creating_an_event_needs_a_verified_address(api: Api) -> None:
    olga = await api.user(Role.ORGANIZER, name="olga")
    before = api.snapshot()

    refused = await api.client.post(f"{API}/events", json=event_body(), headers=olga.headers)

    body = assert_problem(refused, 403, "/problems/email-unverified")
    assert "verify" in body["detail"]
    assert api.snapshot() == before
    await verified(api, olga)
    created = await api.client.post(f"{API}/events", json=event_body(), headers=olga.headers)
    assert created.status_code == 201, created.text


async def test_joining_an_event_needs_a_verified_address(api: Api) -> None:
    olga = await api.user(Role.ORGANIZER, name="olga")
    await verified(api, olga)
    event = await api.published_event(olga)
    ann = await api.user(name="ann")
    before = api.snapshot()

    join = f"{API}/events/{event['id']}/registrations"
    refused = await api.client.post(join, headers=ann.headers)

    assert_problem(refused, 403, "/problems/email-unverified")
    assert api.snapshot() == before
    await verified(api, ann)
    joined = await api.client.post(join, headers=ann.headers)
    assert joined.status_code == 201, joined.text


async def test_an_unverified_user_still_signs_in_and_reads(api: Api) -> None:
    ann = await api.user(name="ann")
    me = await api.client.get(f"{API}/users/me", headers=ann.headers)
    assert me.status_code == 200
    assert me.json()["email_verified"] is False
    assert (await api.client.get(f"{API}/events", headers=ann.headers)).status_code == 200
