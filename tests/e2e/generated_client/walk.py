"""A client author's walk through the API, through the typed functions that
`openapi-python-client` generates from docs/openapi.json (package `eventapi_client`).

    python walk.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD

tests/e2e/test_openapi_tools.py generates the package into a temporary folder,
type-checks this file against it with `mypy --strict`, and runs it against a live
server. Every step asserts the typed result; the script exits non-zero on the first
surprise. Nothing here knows the wire format: only the generated models do.
"""

from __future__ import annotations

import csv
import io
import sys
from datetime import UTC, datetime, timedelta

from eventapi_client import AuthenticatedClient, Client
from eventapi_client.api.auth import (
    api_v1_auth_register_register as register,
)
from eventapi_client.api.auth import (
    api_v1_auth_revoke_revoke as revoke,
)
from eventapi_client.api.auth import (
    api_v1_auth_token_token as token,
)
from eventapi_client.api.events import (
    api_v1_events_create as create_event,
)
from eventapi_client.api.events import (
    api_v1_events_event_id_calendar_ics_calendar as calendar,
)
from eventapi_client.api.events import (
    api_v1_events_event_id_get_one as get_event,
)
from eventapi_client.api.events import (
    api_v1_events_event_id_update as update_event,
)
from eventapi_client.api.events import (
    api_v1_events_search as search,
)
from eventapi_client.api.registrations import (
    api_v1_events_event_id_attendees_attendees as attendees,
)
from eventapi_client.api.registrations import (
    api_v1_events_event_id_registrations_join as join,
)
from eventapi_client.api.registrations import (
    api_v1_events_event_id_registrations_me_leave as leave,
)
from eventapi_client.api.users import api_v1_users_user_id_update_user as update_user
from eventapi_client.models import (
    EventChangesIn,
    EventChangesInStatus,
    EventOut,
    EventOutStatus,
    EventPage,
    LocationIn,
    NewEventIn,
    OAuthError,
    RegistrationOut,
    RegistrationOutStatus,
    RevokeForm,
    SignUpIn,
    TokenForm,
    TokenOut,
    UserChangesIn,
    UserChangesInRole,
    UserOut,
)

PASSWORD = "a walk through the generated client"


def sign_in(anonymous: Client, email: str, password: str) -> TokenOut:
    answer = token.sync_detailed(
        client=anonymous,
        body=TokenForm(grant_type="password", username=email, password=password),
    )
    assert isinstance(answer.parsed, TokenOut), answer.content
    assert answer.headers["cache-control"] == "no-store"
    return answer.parsed


def walk(base_url: str, admin_email: str, admin_password: str) -> None:
    anonymous = Client(base_url=base_url)
    admin_token = sign_in(anonymous, admin_email, admin_password).access_token
    admin = AuthenticatedClient(base_url=base_url, token=admin_token)

    # register, and sign in with the password grant
    email = "walker@example.org"
    made = register.sync_detailed(
        client=anonymous, body=SignUpIn(email=email, password=PASSWORD, full_name="Wal Ker")
    )
    assert made.status_code == 201 and isinstance(made.parsed, UserOut), made.content
    assert made.headers["location"] == f"/api/v1/users/{made.parsed.id}"
    promoted = update_user.sync_detailed(
        made.parsed.id, client=admin, body=UserChangesIn(role=UserChangesInRole.ORGANIZER)
    )
    assert isinstance(promoted.parsed, UserOut), promoted.content
    tokens = sign_in(anonymous, email, PASSWORD)
    assert tokens.token_type == "bearer" and tokens.expires_in > 0
    me = AuthenticatedClient(base_url=base_url, token=tokens.access_token)

    # create a draft, then publish it with If-Match
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    created = create_event.sync_detailed(
        client=me,
        body=NewEventIn(
            title="Generated-client meetup",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            capacity=5,
            location=LocationIn(city="Lisbon", country="Portugal", latitude=38.72, longitude=-9.14),
        ),
    )
    assert created.status_code == 201 and isinstance(created.parsed, EventOut), created.content
    event = created.parsed
    assert created.headers["location"] == f"/api/v1/events/{event.id}"
    etag = created.headers["etag"]

    stale = update_event.sync_detailed(
        event.id, client=me, body=EventChangesIn(title="Never"), if_match='"stale"'
    )
    assert stale.status_code == 412, stale.content
    published = update_event.sync_detailed(
        event.id,
        client=me,
        body=EventChangesIn(status=EventChangesInStatus.PUBLISHED),
        if_match=etag,
    )
    assert isinstance(published.parsed, EventOut), published.content
    assert published.parsed.status is EventOutStatus.PUBLISHED
    etag = published.headers["etag"]

    # If-None-Match: 304 while it is current
    again = get_event.sync_detailed(event.id, client=me, if_none_match=etag)
    assert again.status_code == 304 and again.headers["etag"] == etag, again.content
    fresh = get_event.sync_detailed(event.id, client=me, if_none_match='"other"')
    assert isinstance(fresh.parsed, EventOut) and fresh.parsed.id == event.id

    # the calendar entry: text/calendar, its charset said once
    entry = calendar.sync_detailed(event.id, client=me)
    assert entry.status_code == 200 and isinstance(entry.parsed, str), entry.content
    assert entry.headers["content-type"] == "text/calendar; charset=utf-8", entry.headers
    assert entry.parsed.startswith("BEGIN:VCALENDAR"), entry.parsed[:80]

    # search
    found = search.sync_detailed(
        client=me, q="Generated", city="Lisbon", starts_from=starts.date().isoformat()
    )
    assert isinstance(found.parsed, EventPage), found.content
    assert [item.id for item in found.parsed.items] == [event.id]

    # join, export the attendees as CSV, leave
    joined = join.sync_detailed(event.id, client=me)
    assert joined.status_code == 201 and isinstance(joined.parsed, RegistrationOut)
    assert joined.parsed.status is RegistrationOutStatus.CONFIRMED
    # The export is the same operation with `Accept: text/csv`, its second media type.
    # The generator parses only a response's first media type, so the typed function
    # would read the CSV as JSON: the request comes from the generated builder, sent by
    # the generated client's own httpx client.
    request = attendees._get_kwargs(event.id)
    exported = me.get_httpx_client().request(**request, headers={"Accept": "text/csv"})
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "text/csv; charset=utf-8", exported.headers
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["registration_id"] for row in rows] == [str(joined.parsed.id)]
    left = leave.sync_detailed(event.id, client=me)
    assert left.status_code == 204, left.content

    # refresh, then revoke: the refresh token stops working
    refreshed = token.sync_detailed(
        client=anonymous,
        body=TokenForm(grant_type="refresh_token", refresh_token=tokens.refresh_token),
    )
    assert isinstance(refreshed.parsed, TokenOut), refreshed.content
    signed_in = AuthenticatedClient(base_url=base_url, token=refreshed.parsed.access_token)
    revoked = revoke.sync_detailed(
        client=signed_in, body=RevokeForm(token=refreshed.parsed.refresh_token)
    )
    assert revoked.status_code == 200, revoked.content
    refused = token.sync_detailed(
        client=anonymous,
        body=TokenForm(grant_type="refresh_token", refresh_token=refreshed.parsed.refresh_token),
    )
    assert refused.status_code == 400 and isinstance(refused.parsed, OAuthError), refused.content
    assert refused.parsed.error.value == "invalid_grant"


if __name__ == "__main__":
    walk(*sys.argv[1:4])
    print("walk: every step answered as documented")
