"""The calendar feed: `POST/DELETE /api/v1/users/me/calendar-feed` to get (or
rotate) and revoke its secret URL, and `GET /calendar/{token}.ics` for calendar
apps, which send no `Authorization` (docs/security.md, "Calendar feed").

The feed route lives outside `/api/v1` and its path is a secret: the access log
writes it as `FEED_PATH_LOGGED` (entrypoints/http/observe.py), the metrics label
it by its route template, and no error repeats it.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, Parameter
from msgspec import Struct

from adapters.icalendar_invites import feed_calendar
from application.principal import Principal
from application.use_cases.calendar_feed import (
    CalendarFeedCommand,
    IssueCalendarFeed,
    ReadCalendarFeed,
    ReadCalendarFeedCommand,
    RevokeCalendarFeed,
)
from domain.errors import NotFound
from entrypoints.http.guards import requires_bearer
from entrypoints.http.openapi import BEARER, responses

Principal_ = NamedDependency[Principal | None]

#: Where feeds are served; every path under it is a secret to the log.
FEED_PREFIX = "/calendar/"
#: What the access log writes instead of a feed's path.
FEED_PATH_LOGGED = "/calendar/{token}.ics"
#: The last segment: the token (URL-safe base64, as issued) and `.ics`.
_FEED_NAME = re.compile(r"^([A-Za-z0-9_-]{16,128})\.ics$")
#: A secret URL: no shared cache keeps it; the calendar app revalidates with the ETag.
FEED_CACHE_CONTROL = "private, no-cache"


class CalendarFeedOut(Struct, frozen=True):
    url: Annotated[
        str,
        Parameter(
            description="The feed's secret address (`<public URL>/calendar/<token>.ics`): "
            "subscribe to it in a calendar app. Shown only here; anyone who has it "
            "can read your upcoming events."
        ),
    ]


class CalendarFeedController(Controller):
    path = "/api/v1/users/me/calendar-feed"
    tags = ["users"]
    security = BEARER
    guards = [requires_bearer]

    @post(
        "",
        status_code=201,
        summary="Get a secret calendar feed URL (again: a new one, the old one stops working)",
        description="Your confirmed and waitlisted registrations for upcoming events, as an "
        "RFC 5545 calendar at a secret URL that calendar apps can subscribe to without "
        "signing in. Calling this again rotates the secret: the previous URL answers 404. "
        "The secret is stored only as a SHA-256 digest, so it cannot be shown again. Not "
        "`Idempotency-Key`-aware on purpose: a stored answer would keep the secret.",
        responses=responses(401, 429),
    )
    async def issue(
        self,
        principal: Principal_,
        issue_calendar_feed: NamedDependency[IssueCalendarFeed],
        public_url: NamedDependency[str],
    ) -> Response[CalendarFeedOut]:
        token = await issue_calendar_feed.execute(CalendarFeedCommand(actor=principal))
        return Response(
            CalendarFeedOut(url=f"{public_url}{FEED_PREFIX}{token}.ics"),
            status_code=201,
            headers={"Cache-Control": "no-store"},
        )

    @delete(
        "",
        status_code=204,
        summary="Revoke my calendar feed URL",
        description="The feed's URL answers 404 from now on. Also 204 when there is no feed.",
        responses=responses(401, 429),
    )
    async def revoke(
        self, principal: Principal_, revoke_calendar_feed: NamedDependency[RevokeCalendarFeed]
    ) -> None:
        await revoke_calendar_feed.execute(CalendarFeedCommand(actor=principal))


IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-None-Match",
        max_length=1000,
        description="An `ETag` from an earlier answer: 304 without a body while it is current",
    ),
]


@get(
    "/calendar/{feed:str}",
    summary="A calendar feed (the secret URL from POST /api/v1/users/me/calendar-feed)",
    description="`feed` is `<token>.ics`. The owner's confirmed (STATUS:CONFIRMED) and "
    "waitlisted (STATUS:TENTATIVE) registrations for published events that have not "
    "ended, one VEVENT each, with the UID of the event's own calendar entry and invites "
    "(`<event id>@eventapi`), times in UTC. Events that were cancelled, ended or left "
    "drop out of the feed. No `Authorization`: the URL is the credential. An unknown, "
    "rotated or revoked URL is 404. Counts against the anonymous rate limit.",
    tags=["users"],
    media_type="text/calendar",
    include_in_schema=True,
    responses={
        304: ResponseSpec(None, description="`If-None-Match` names the current `ETag`."),
        **responses(400, 404, 429),
    },
)
async def calendar_feed(
    feed: Annotated[
        FromPath[str],
        Parameter(description="`<token>.ics`: the secret part of the feed's URL"),
    ],
    read_calendar_feed: NamedDependency[ReadCalendarFeed],
    public_url: NamedDependency[str],
    if_none_match: IfNoneMatch = None,
) -> Response[bytes]:
    match = _FEED_NAME.match(feed)
    if match is None:
        raise NotFound("calendar feed", "at this URL")
    entries = await read_calendar_feed.execute(ReadCalendarFeedCommand(token=match.group(1)))
    body = feed_calendar(
        entries, name="eventapi", url_of=lambda event_id: f"{public_url}/api/v1/events/{event_id}"
    )
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": FEED_CACHE_CONTROL}
    if if_none_match is not None:
        candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        if etag in candidates or "*" in candidates:
            return Response(b"", status_code=304, headers=headers, media_type="text/calendar")
    return Response(body, media_type="text/calendar", headers=headers)
