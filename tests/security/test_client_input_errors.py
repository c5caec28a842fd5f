"""Client input that reached a 500, pinned down as 400s with a field error.

- Invalid UTF-8 in a JSON body (anonymously, through POST /auth/register).
- Dates at the ends of the calendar: `OverflowError` in search filters
  (`starts_from`, `starts_to`) and in `starts_at`/`ends_at`.
- An event at 9999-12-31T20:00Z in Pacific/Kiritimati (already the year 10000
  there) was accepted, and none of its mails could ever be built. Event times
  are years 1970 to 2200 in every time zone now, enforced by the domain's
  TimeWindow, and every mail of an event at either end of that window builds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from adapters.mail.composer import MailComposer
from application.ports.notifications import Notification, NotificationKind, Recipient
from application.ports.queries import EventView, PersonSummary
from domain.event import EventStatus
from domain.values import EARLIEST_MOMENT, LATEST_MOMENT, Location
from tests.e2e.conftest import API, Api, assert_problem, event_body

E = f"{API}/events"

INVALID_UTF8 = [
    b'{"email": "\xff@example.org", "password": "long enough passphrase", "full_name": "X"}',
    b'{"email": "x@example.org", "password": "long enough \xc3\x28", "full_name": "X"}',
    b'{"email": "x@example.org", "password": "long enough phrase", "full_name": "\xed\xa0\x80"}',
    b'{"em\xfeail": "x@example.org"}',
]


async def test_invalid_utf8_in_a_json_body_is_a_400(api: Api) -> None:
    organizer = await api.admin()
    event = await api.create_event(organizer)
    before = api.snapshot()
    for body in INVALID_UTF8:
        for method, path, headers in (
            ("POST", f"{API}/auth/register", {}),
            ("POST", E, organizer.headers),
            ("PATCH", f"{E}/{event['id']}", organizer.headers),
        ):
            response = await api.client.request(
                method,
                path,
                content=body,
                headers={**headers, "Content-Type": "application/json"},
            )
            problem = assert_problem(response, 400)
            assert problem["type"] in {"/problems/invalid-input", "/problems/bad-request"}
    assert api.snapshot() == before


FAR_MOMENTS = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T20:00:00Z",
    "1969-12-31T23:00:00Z",
    "2201-01-01T00:00:00Z",
]


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
async def test_event_times_outside_the_years_1970_to_2200_are_refused(api: Api, field: str) -> None:
    organizer = await api.admin()
    event = await api.create_event(organizer)
    before = api.snapshot()
    for moment in FAR_MOMENTS:
        body: dict[str, Any] = {field: moment}
        created = await api.client.post(E, json=event_body(**body), headers=organizer.headers)
        changed = await api.client.patch(f"{E}/{event['id']}", json=body, headers=organizer.headers)
        for response in (created, changed):
            problem = assert_problem(response, 400, "/problems/invalid-input")
            assert {error["field"] for error in problem["errors"]} <= {"starts_at", "ends_at"}
            assert problem["errors"], problem
    assert api.snapshot() == before


async def test_the_year_9999_in_kiritimati_is_refused(api: Api) -> None:
    organizer = await api.admin()
    body = event_body(
        starts_at="9999-12-31T20:00:00Z",
        ends_at="9999-12-31T21:00:00Z",
        timezone="Pacific/Kiritimati",
    )
    response = await api.client.post(E, json=body, headers=organizer.headers)
    problem = assert_problem(response, 400, "/problems/invalid-input")
    assert [error["field"] for error in problem["errors"]] == ["starts_at"]


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01",
        "9999-12-31",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-12:00",
        "0001-01-01T00:00:00Z",
        "1900-01-01",
        "2300-01-01",
    ],
)
async def test_far_dates_in_search_filters_are_400s(api: Api, value: str) -> None:
    for field in ("starts_from", "starts_to"):
        response = await api.client.get(E, params={field: value})
        problem = assert_problem(response, 400, "/problems/invalid-input")
        assert [error["field"] for error in problem["errors"]] == [field], problem


async def test_filters_and_events_at_the_edges_of_the_window_work(api: Api) -> None:
    organizer = await api.admin()
    first = EARLIEST_MOMENT
    last = LATEST_MOMENT - timedelta(hours=1)
    for starts, zone in ((first, "Etc/GMT+12"), (last, "Pacific/Kiritimati")):
        body = event_body(
            starts_at=starts.isoformat(),
            ends_at=(starts + timedelta(hours=1)).isoformat(),
            timezone=zone,
        )
        response = await api.client.post(E, json=body, headers=organizer.headers)
        assert response.status_code == 201, response.text
    for params in ({"starts_from": "1970-01-01"}, {"starts_to": "2200-12-31T23:59:59+14:00"}):
        response = await api.client.get(E, params=params)
        assert response.status_code == 200, response.text


NOW = datetime(2030, 1, 1, 9, 0, tzinfo=EARLIEST_MOMENT.tzinfo)


@pytest.mark.parametrize(
    ("starts_at", "zone"),
    [
        (EARLIEST_MOMENT, "Etc/GMT+12"),
        (EARLIEST_MOMENT, "Pacific/Kiritimati"),
        (LATEST_MOMENT - timedelta(hours=1), "Pacific/Kiritimati"),
        (LATEST_MOMENT - timedelta(hours=1), "Etc/GMT+12"),
    ],
)
#: Every kind is a mail but a webhook delivery, which the worker POSTs instead.
@pytest.mark.parametrize(
    "kind", [kind for kind in NotificationKind if kind is not NotificationKind.WEBHOOK]
)
def test_every_mail_of_an_event_at_the_ends_of_the_window_builds(
    starts_at: datetime, zone: str, kind: NotificationKind
) -> None:
    composer = MailComposer(sender="eventapi <noreply@eventapi.test>", public_url="http://api.test")
    event = EventView(
        id=uuid4(),
        title="At the edge of time",
        description="",
        location=Location(city="Tarawa"),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        timezone=zone,
        capacity=10,
        attendee_count=1,
        waitlist_enabled=False,
        waitlist_count=0,
        status=EventStatus.PUBLISHED,
        organizer=PersonSummary(id=uuid4(), full_name="Olga"),
        sequence=1,
        revision=1,
        created_at=NOW,
        updated_at=NOW,
    )
    recipient = Recipient(id=uuid4(), email="grace@example.org", full_name="Grace")
    notification = Notification(
        cause_id=uuid4(),
        kind=kind,
        recipient_id=recipient.id,
        created_at=NOW,
        event_id=None if kind is NotificationKind.WELCOME else event.id,
    )
    message = composer.compose(
        notification, recipient=recipient, event=event, message_id="<1@eventapi.test>", now=NOW
    )
    assert message.as_bytes()
