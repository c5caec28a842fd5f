"""Check-in over HTTP on SQLite and PostgreSQL: ticket codes shown to their holder and
the event's managers only, one check-in per ticket even under 20 simultaneous scans,
and what listings, the CSV export and the Event tell the managers afterwards."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

from domain.users import Role
from tests.e2e.conftest import API, Api, Caller, assert_problem

E = f"{API}/events"


async def scan(api: Api, caller: Caller, event_id: str, code: str, **headers: str) -> Any:
    return await api.client.post(
        f"{E}/{event_id}/check-ins",
        json={"ticket_code": code},
        headers={**caller.headers, **headers},
    )


async def test_a_ticket_checks_in_once_and_a_second_scan_names_the_first_time(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, name="owner")
    guest = await api.user(name="guest")
    event = await api.published_event(owner)
    joined = await api.join(guest, event["id"])
    code = joined["ticket_code"]
    assert len(code) >= 32 and joined["checked_in_at"] is None  # 24 random bytes

    first = await scan(api, owner, event["id"], code)

    assert first.status_code == 201, first.text
    body = first.json()
    assert body["registration_id"] == joined["id"]
    assert body["user"] == {"id": guest.user_id, "full_name": "Guest Person"}
    again = await scan(api, owner, event["id"], code)
    problem = assert_problem(again, 409, "/problems/already-checked-in")
    assert problem["checked_in_at"] == body["checked_in_at"]
    assert code not in again.text


async def test_twenty_simultaneous_scans_check_a_ticket_in_exactly_once(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, name="owner")
    guest = await api.user(name="guest")
    event = await api.published_event(owner)
    code = (await api.join(guest, event["id"]))["ticket_code"]

    responses = await asyncio.gather(*(scan(api, owner, event["id"], code) for _ in range(20)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 19, [r.text for r in responses if r.status_code >= 500]
    first = next(r.json() for r in responses if r.status_code == 201)
    for refused in (r for r in responses if r.status_code == 409):
        problem = assert_problem(refused, 409, "/problems/already-checked-in")
        assert problem["checked_in_at"] == first["checked_in_at"]
    listed = await api.client.get(f"{E}/{event['id']}/attendees", headers=owner.headers)
    assert [item["checked_in_at"] for item in listed.json()["items"]] == [first["checked_in_at"]]
    assert (await api.get_event(event["id"], owner)).json()["checked_in_count"] == 1


async def test_unknown_foreign_waitlisted_and_cancelled_tickets(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, name="owner")
    guest, waiting = await api.user(name="guest"), await api.user(name="waiting")
    event = await api.published_event(owner, capacity=1, waitlist_enabled=True)
    other = await api.published_event(owner)
    seat = await api.join(guest, event["id"])
    waitlisted = await api.join(waiting, event["id"])
    assert waitlisted["status"] == "waitlisted" and "ticket_code" not in waitlisted

    assert_problem(await scan(api, owner, other["id"], seat["ticket_code"]), 404)
    assert_problem(await scan(api, owner, event["id"], "A" * 32), 404)
    for bad in ("short", "x" * 65, "has spaces in it ok", "ünïcødé-ünïcødé-ü"):
        assert_problem(await scan(api, owner, event["id"], bad), 400, "/problems/invalid-input")
    extra = await api.client.post(
        f"{E}/{event['id']}/check-ins",
        json={"ticket_code": seat["ticket_code"], "more": 1},
        headers=owner.headers,
    )
    assert_problem(extra, 400)

    cancelled = await api.client.post(
        f"{E}/{event['id']}/cancel", json={"reason": "rain"}, headers=owner.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert_problem(
        await scan(api, owner, event["id"], seat["ticket_code"]), 409, "/problems/ticket-not-valid"
    )


async def test_the_code_is_shown_to_its_holder_and_the_managers_only(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, name="owner")
    co = await api.user(Role.ORGANIZER, name="co")
    guest, other = await api.user(name="guest"), await api.user(name="other")
    event = await api.published_event(owner)
    added = await api.client.post(
        f"{E}/{event['id']}/co-organizers", json={"user_id": co.user_id}, headers=owner.headers
    )
    assert added.status_code == 201, added.text
    code = (await api.join(guest, event["id"]))["ticket_code"]
    await api.join(other, event["id"])

    mine = await api.client.get(f"{API}/users/me/registrations", headers=guest.headers)
    assert [item["ticket_code"] for item in mine.json()["items"]] == [code]
    export = await api.client.get(f"{API}/users/me/export", headers=guest.headers)
    assert code in export.text
    for manager in (owner, co, await api.admin()):
        listed = await api.client.get(f"{E}/{event['id']}/attendees", headers=manager.headers)
        assert code in {item["ticket_code"] for item in listed.json()["items"]}
        read = await api.get_event(event["id"], manager)
        assert read.json()["checked_in_count"] == 0
    for outsider in (other, None):
        headers = outsider.headers if outsider else {}
        read = await api.client.get(f"{E}/{event['id']}", headers=headers)
        assert "checked_in_count" not in read.json()
        assert code not in read.text
        theirs = await api.client.get(f"{API}/users/me/registrations", headers=headers)
        assert code not in theirs.text
        listing = await api.client.get(f"{E}/{event['id']}/attendees", headers=headers)
        assert listing.status_code in (401, 403) and code not in listing.text
    listed_events = await api.client.get(E, headers=owner.headers)
    assert all("checked_in_count" not in item for item in listed_events.json()["items"])


async def test_a_co_organizer_checks_in_and_the_csv_tells_when(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, name="owner")
    co = await api.user(Role.ORGANIZER, name="co")
    guest, late = await api.user(name="guest"), await api.user(name="late")
    event = await api.published_event(owner)
    await api.client.post(
        f"{E}/{event['id']}/co-organizers", json={"user_id": co.user_id}, headers=owner.headers
    )
    code = (await api.join(guest, event["id"]))["ticket_code"]
    late_code = (await api.join(late, event["id"]))["ticket_code"]
    checked = await scan(api, co, event["id"], code)
    assert checked.status_code == 201, checked.text

    exported = await api.client.get(
        f"{E}/{event['id']}/attendees", headers={**owner.headers, "Accept": "text/csv"}
    )
    rows = {row["user_id"]: row for row in csv.DictReader(io.StringIO(exported.text))}
    assert rows[guest.user_id]["checked_in_at"] != ""
    assert rows[guest.user_id]["ticket_code"] == code
    assert rows[late.user_id]["checked_in_at"] == ""
    assert rows[late.user_id]["ticket_code"] == late_code


async def test_leaving_and_joining_again_issues_a_new_code(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, name="owner")
    guest = await api.user(name="guest")
    event = await api.published_event(owner)
    old = (await api.join(guest, event["id"]))["ticket_code"]
    left = await api.client.delete(f"{E}/{event['id']}/registrations/me", headers=guest.headers)
    assert left.status_code == 204

    new = (await api.join(guest, event["id"]))["ticket_code"]

    assert new != old
    assert_problem(await scan(api, owner, event["id"], old), 404)
    assert (await scan(api, owner, event["id"], new)).status_code == 201


async def test_a_promotion_issues_the_code(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, name="owner")
    guest, waiting = await api.user(name="guest"), await api.user(name="waiting")
    event = await api.published_event(owner, capacity=1, waitlist_enabled=True)
    await api.join(guest, event["id"])
    await api.join(waiting, event["id"])
    await api.client.delete(f"{E}/{event['id']}/registrations/me", headers=guest.headers)

    mine = (await api.client.get(f"{API}/users/me/registrations", headers=waiting.headers)).json()
    (promoted,) = mine["items"]
    assert promoted["status"] == "confirmed" and promoted["ticket_code"]
    assert (await scan(api, owner, event["id"], promoted["ticket_code"])).status_code == 201


async def test_a_replayed_scan_with_the_same_idempotency_key_answers_the_same(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, name="owner")
    guest = await api.user(name="guest")
    event = await api.published_event(owner)
    code = (await api.join(guest, event["id"]))["ticket_code"]

    first = await scan(api, owner, event["id"], code, **{"Idempotency-Key": "door-1-scan-1"})
    replay = await scan(api, owner, event["id"], code, **{"Idempotency-Key": "door-1-scan-1"})

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()


async def test_an_erased_persons_ticket_is_gone_everywhere(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, name="owner")
    guest = await api.user(name="guest")
    event = await api.published_event(owner)
    joined = await api.client.post(
        f"{E}/{event['id']}/registrations",
        headers={**guest.headers, "Idempotency-Key": "join-once"},
    )
    code = joined.json()["ticket_code"]
    assert (await scan(api, owner, event["id"], code)).status_code == 201
    assert code in repr(api.snapshot())  # the registration, and the stored join answer

    erased = await api.client.delete(f"{API}/users/me", headers=guest.headers)

    assert erased.status_code == 204, erased.text
    assert code not in repr(api.snapshot())  # no table, the outbox included, keeps it
    assert_problem(await scan(api, owner, event["id"], code), 404)
    listed = await api.client.get(f"{E}/{event['id']}/attendees", headers=owner.headers)
    assert listed.json()["items"] == []


async def test_a_manager_may_patch_with_the_etag_everybody_else_is_given(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, name="owner")
    event = await api.published_event(owner)
    shared = (await api.client.get(f"{E}/{event['id']}")).headers["etag"]
    own = (await api.get_event(event["id"], owner)).headers["etag"]
    assert own != shared  # the owner's Event has checked_in_count

    by_shared = await api.client.patch(
        f"{E}/{event['id']}",
        json={"title": "Renamed"},
        headers={**owner.headers, "If-Match": shared},
    )
    assert by_shared.status_code == 200, by_shared.text
    assert by_shared.json()["checked_in_count"] == 0
    by_own = await api.client.patch(
        f"{E}/{event['id']}",
        json={"title": "Renamed again"},
        headers={**owner.headers, "If-Match": by_shared.headers["etag"]},
    )
    assert by_own.status_code == 200, by_own.text
    assert by_own.headers["etag"] == (await api.get_event(event["id"], owner)).headers["etag"]
    stale = await api.client.patch(
        f"{E}/{event['id']}", json={"title": "Lost"}, headers={**owner.headers, "If-Match": own}
    )
    assert_problem(stale, 412)
