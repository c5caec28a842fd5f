"""`Idempotency-Key` over HTTP, on SQLite and PostgreSQL: a repeated request replays
the first answer (status, body, Location) with `Idempotent-Replayed: true` and does
nothing again; another body with the key is 422; keys are per caller; a bad key is a
400 that changes nothing. (Two server processes at once: test_idempotency_processes.py.)"""

from __future__ import annotations

import json
from typing import Any

import httpx

from application.ports.idempotency import Claimed
from domain.users import Role
from entrypoints.http.idempotency import request_fingerprint
from tests.e2e.conftest import API, PASSWORD, Api, Caller, assert_problem, event_body

REUSED = "/problems/idempotency-key-reused"
IN_USE = "/problems/idempotency-key-in-use"
REPLAYED = "Idempotent-Replayed"


def keyed(caller: Caller, key: str) -> dict[str, str]:
    return {**caller.headers, "Idempotency-Key": key}


def rows(api: Api, table: str) -> int:
    return len(api.snapshot()[table])


def assert_replay(first: httpx.Response, again: httpx.Response) -> None:
    assert REPLAYED not in first.headers
    assert again.headers[REPLAYED] == "true"
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers.get("location") == first.headers.get("location")


async def test_creating_an_event_twice_with_one_key_creates_it_once(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    body = event_body()

    first = await api.client.post(f"{API}/events", json=body, headers=keyed(owner, "evt-1"))
    assert first.status_code == 201, first.text
    before = api.snapshot()
    again = await api.client.post(f"{API}/events", json=body, headers=keyed(owner, "evt-1"))

    assert_replay(first, again)
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["location"] == f"{API}/events/{first.json()['id']}"
    assert api.snapshot() == before  # nothing done again
    assert len(before["events"]) == 1


async def test_the_same_key_with_another_body_is_422_and_changes_nothing(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    first = await api.client.post(f"{API}/events", json=event_body(), headers=keyed(owner, "evt-2"))
    assert first.status_code == 201
    before = api.snapshot()

    other = await api.client.post(
        f"{API}/events", json=event_body(title="Another evening"), headers=keyed(owner, "evt-2")
    )

    body = assert_problem(other, 422, REUSED)
    assert "Idempotency-Key" in body["detail"]
    assert REPLAYED not in other.headers
    assert api.snapshot() == before


async def test_another_caller_with_the_same_key_does_its_own_action(api: Api) -> None:
    ada = await api.user(Role.ORGANIZER, "ada")
    bob = await api.user(Role.ORGANIZER, "bob")
    body = event_body()

    mine = await api.client.post(f"{API}/events", json=body, headers=keyed(ada, "shared"))
    theirs = await api.client.post(f"{API}/events", json=body, headers=keyed(bob, "shared"))

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert REPLAYED not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]
    assert theirs.json()["organizer"]["id"] == bob.user_id
    assert rows(api, "events") == 2


async def test_joining_twice_with_one_key_takes_one_seat(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner, capacity=1, waitlist_enabled=True)
    other_event = await api.published_event(owner)
    ada = await api.user(name="ada")
    bob = await api.user(name="bob")
    path = f"{API}/events/{event['id']}/registrations"

    first = await api.client.post(path, headers=keyed(ada, "join-1"))
    again = await api.client.post(path, headers=keyed(ada, "join-1"))

    assert first.status_code == 201, first.text
    assert_replay(first, again)
    assert rows(api, "registrations") == 1
    # Bob's "join-1" is his own: he gets the waitlist (capacity 1), not Ada's seat.
    bobs = await api.client.post(path, headers=keyed(bob, "join-1"))
    assert bobs.status_code == 201, bobs.text
    assert REPLAYED not in bobs.headers
    assert bobs.json()["status"] == "waitlisted"
    # The same key for another event is another request.
    elsewhere = await api.client.post(
        f"{API}/events/{other_event['id']}/registrations", headers=keyed(ada, "join-1")
    )
    assert_problem(elsewhere, 422, REUSED)
    assert rows(api, "registrations") == 2


async def test_cancelling_twice_with_one_key_notifies_once(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    event = await api.published_event(owner)
    await api.join(await api.user(), event["id"])
    path = f"{API}/events/{event['id']}/cancel"

    first = await api.client.post(path, json={"reason": "rain"}, headers=keyed(owner, "c-1"))
    assert first.status_code == 200, first.text
    before = api.snapshot()
    again = await api.client.post(path, json={"reason": "rain"}, headers=keyed(owner, "c-1"))
    other = await api.client.post(path, json={"reason": "snow"}, headers=keyed(owner, "c-1"))
    # Without the key, cancelling again is the ordinary 409 it always was.
    unkeyed = await api.client.post(path, json={"reason": "rain"}, headers=owner.headers)

    assert_replay(first, again)
    assert again.json()["status"] == "cancelled"
    assert_problem(other, 422, REUSED)
    assert_problem(unkeyed, 409)
    assert api.snapshot() == before  # one set of notifications in the outbox


async def test_signing_up_twice_with_one_key_opens_one_account(api: Api) -> None:
    signed_in = await api.user(name="signed-in")
    body = {"email": api.email("newcomer"), "password": PASSWORD, "full_name": "New Comer"}
    path = f"{API}/auth/register"

    first = await api.client.post(path, json=body, headers={"Idempotency-Key": "signup"})
    users = rows(api, "users")
    again = await api.client.post(path, json=body, headers={"Idempotency-Key": "signup"})
    other = await api.client.post(
        path, json={**body, "full_name": "Someone Else"}, headers={"Idempotency-Key": "signup"}
    )

    assert first.status_code == 201, first.text
    assert_replay(first, again)
    assert_problem(other, 422, REUSED)
    assert rows(api, "users") == users
    # A signed-in caller is another caller than this client address: its own sign-up.
    theirs = await api.client.post(
        path, json={**body, "email": api.email("friend")}, headers=keyed(signed_in, "signup")
    )
    assert theirs.status_code == 201, theirs.text
    assert REPLAYED not in theirs.headers
    assert rows(api, "users") == users + 1


async def test_signing_up_with_an_ended_session_still_signs_up(api: Api) -> None:
    """Sign-up reads no session: a token whose session ended only names the caller
    there (as for the rate limits), never a 401 the route does not document."""
    gone = await api.user(name="gone")
    revoked = await api.client.post(
        f"{API}/auth/revoke", data={"token": gone.refresh_token}, headers=gone.headers
    )
    assert revoked.status_code == 200
    body = {"email": api.email("fresh"), "password": PASSWORD, "full_name": "Fresh Start"}

    first = await api.client.post(f"{API}/auth/register", json=body, headers=keyed(gone, "s"))
    again = await api.client.post(f"{API}/auth/register", json=body, headers=keyed(gone, "s"))

    assert first.status_code == 201, first.text
    assert_replay(first, again)


async def test_an_admin_creating_a_user_twice_with_one_key_creates_one(api: Api) -> None:
    admin = await api.admin()
    body = {
        "email": api.email("staff"),
        "password": PASSWORD,
        "full_name": "Staff Member",
        "role": "organizer",
    }

    first = await api.client.post(f"{API}/users", json=body, headers=keyed(admin, "u-1"))
    users = rows(api, "users")
    again = await api.client.post(f"{API}/users", json=body, headers=keyed(admin, "u-1"))

    assert first.status_code == 201, first.text
    assert_replay(first, again)
    assert rows(api, "users") == users


async def test_a_final_client_error_is_replayed_but_a_refusal_is_not(api: Api) -> None:
    attendee = await api.user(name="hopeful")
    admin = await api.admin()
    invalid = event_body(capacity=0)
    body = event_body()

    bad = await api.client.post(f"{API}/events", json=invalid, headers=keyed(attendee, "a"))
    bad_again = await api.client.post(f"{API}/events", json=invalid, headers=keyed(attendee, "a"))
    refused = await api.client.post(f"{API}/events", json=body, headers=keyed(attendee, "b"))
    promoted = await api.client.patch(
        f"{API}/users/{attendee.user_id}", json={"role": "organizer"}, headers=admin.headers
    )
    allowed = await api.client.post(f"{API}/events", json=body, headers=keyed(attendee, "b"))

    assert_problem(bad, 400)
    assert_replay(bad, bad_again)  # the same invalid request gets the same answer
    assert_problem(refused, 403)
    assert promoted.status_code == 200
    assert allowed.status_code == 201, allowed.text  # the 403 was not kept for "b"
    assert REPLAYED not in allowed.headers


async def test_a_signed_out_session_gets_no_replay(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    body = event_body()
    first = await api.client.post(f"{API}/events", json=body, headers=keyed(owner, "k"))
    assert first.status_code == 201
    revoked = await api.client.post(
        f"{API}/auth/revoke", data={"token": owner.refresh_token}, headers=owner.headers
    )
    assert revoked.status_code == 200

    again = await api.client.post(f"{API}/events", json=body, headers=keyed(owner, "k"))

    assert_problem(again, 401)
    assert REPLAYED not in again.headers


async def test_a_request_while_the_first_runs_is_409(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    body = json.dumps(event_body()).encode()
    fingerprint = request_fingerprint(
        "POST", f"{API}/events".encode(), b"", "application/json", body
    )
    store = api.container.idempotency_store()
    clock = api.container.clock()
    running = api.run(
        lambda: store.claim(f"user:{owner.user_id}", "busy", fingerprint, now=clock.now())
    )
    assert isinstance(running, Claimed)  # as a request in another process would hold it
    headers = {**keyed(owner, "busy"), "Content-Type": "application/json"}

    busy = await api.client.post(f"{API}/events", content=body, headers=headers)

    assert_problem(busy, 409, IN_USE)
    assert rows(api, "events") == 0


async def test_a_malformed_key_is_400_and_changes_nothing(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER)
    before = api.snapshot()
    bad_keys: list[Any] = ["", "x" * 256, "caf\u00e9".encode(), "tab\there"]
    answers = [
        await api.client.post(
            f"{API}/events", json=event_body(), headers={**owner.headers, "Idempotency-Key": key}
        )
        for key in bad_keys
    ]

    # (Two Idempotency-Key headers: the test transport joins them; a real server's
    # 400 for them is in test_idempotency_processes.py.)
    for answer in answers:
        body = assert_problem(answer, 400)
        assert body["errors"][0]["field"] == "Idempotency-Key"
    assert api.snapshot() == before
    longest = await api.client.post(
        f"{API}/events", json=event_body(), headers=keyed(owner, "~ " + "k" * 253)
    )
    assert longest.status_code == 201, longest.text
