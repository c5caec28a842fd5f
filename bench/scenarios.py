"""The scenarios: which requests each server gets, and what answers are expected."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

import httpx

from adapters.sql.scale_check import CITIES, WORDS
from application.ports.queries import Keyset
from bench.ceiling import CeilingConfig, cursor_fingerprint, encode_cursor
from bench.data import PASSWORD, Fixtures
from bench.load import Request
from domain.users import Role
from entrypoints.container import Container

EVENTAPI, CEILING = "eventapi", "ceiling"
EVENTS = "/api/v1/events"
#: eventapi's cursor fingerprint of the unfiltered listing (entrypoints/http/paging.py).
EVENTAPI_LISTING_FINGERPRINT = f"events:{EVENTS}:[]"
#: Generous bounds on request rates, to size the files of one-off requests.
MAX_JOINS_PER_SECOND = 3000
MAX_SIGN_INS_PER_SECOND = 50

Builder = Callable[[str, int], list[Request]]  # (server kind, run number) -> requests


@dataclass
class Scenario:
    key: str
    label: str
    build: Builder
    #: Statuses that count as success; counted per response when `count_statuses`.
    expected: frozenset[int] = frozenset({200})
    count_statuses: bool = False
    warm_up: bool = True
    #: Slow requests (a join on a cold server, a bcrypt check) need longer than a
    #: smoke run's second to be answered at all.
    min_seconds: int = 1
    #: Open connections; None is the table's 64. The token endpoint is bound by
    #: bcrypt, so 64 waiting connections only queue: a few per core saturate it
    #: without pushing answers past wrk's timeout.
    connections: int | None = None
    after_run: Callable[[str, int], dict[str, int]] | None = field(default=None, repr=False)


def _same(requests: list[Request]) -> Builder:
    return lambda kind, run: requests


def get_requests(paths: list[str], headers: dict[str, str] | None = None) -> list[Request]:
    return [Request("GET", path, dict(headers or {})) for path in paths]


def filtered_paths() -> list[str]:
    return [
        f"{EVENTS}?city={name}&available=true&starts_from=2031-01-01&starts_to=2031-12-31"
        for name, _, _ in CITIES
    ]


def search_paths() -> list[str]:
    return [f"{EVENTS}?q={a}+{b}" for a, b in itertools.combinations(WORDS, 2)]


def near_paths() -> list[str]:
    return [f"{EVENTS}?near={lat},{lng}&radius_km=25" for _, lat, lng in CITIES]


def eventapi_deep_paths(container: Container, keysets: list[tuple[datetime, UUID]]) -> list[str]:
    codec = container.cursors()
    cursors = [codec.encode(Keyset(at, id_), EVENTAPI_LISTING_FINGERPRINT) for at, id_ in keysets]
    return [f"{EVENTS}?cursor={cursor}" for cursor in cursors]


def ceiling_deep_paths(config: CeilingConfig, keysets: list[tuple[datetime, UUID]]) -> list[str]:
    fingerprint = cursor_fingerprint({})
    return [
        f"{EVENTS}?cursor={encode_cursor(config.cursor_key, at, id_, fingerprint)}"
        for at, id_ in keysets
    ]


def deep_paths_accepted(base_url: str, paths: list[str], first_id: str) -> bool:
    """The cursors are accepted and lead deep into the listing (not to the first page)."""
    answer = httpx.get(base_url + paths[0], timeout=30)
    return answer.status_code == 200 and answer.json()["items"][0]["id"] != first_id


def walk_deep_paths(base_url: str, published: int, count: int) -> list[str]:
    """Deep cursors the slow way, from the server itself: follow `next_cursor` 100
    events at a time and keep those 85-95 % of the way through. For when eventapi's
    cursor format has moved on from what `eventapi_deep_paths` writes."""
    print(f"  walking {base_url}{EVENTS} for deep cursors ({published:,} events)", flush=True)
    low, high = int(published * 0.85), int(published * 0.95)
    step = max((high - low) // (100 * count), 1)
    found, seen, cursor = [], 0, None
    with httpx.Client(base_url=base_url, timeout=30) as client:
        while seen < high:
            params = {"limit": "100"} | ({"cursor": cursor} if cursor else {})
            page = client.get(EVENTS, params=params).raise_for_status().json()
            seen += len(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
            if seen > low and (seen // 100) % step == 0:
                found.append(f"{EVENTS}?cursor={cursor}")
    if not found:
        raise RuntimeError(f"{base_url}: no deep cursor found by walking the listing")
    return found[:count]


def deep_paths_for_eventapi(
    base_url: str, container: Container, keysets: list[tuple[datetime, UUID]], published: int
) -> list[str]:
    first_id = httpx.get(base_url + EVENTS, timeout=30).json()["items"][0]["id"]
    paths = eventapi_deep_paths(container, keysets)
    if deep_paths_accepted(base_url, paths, first_id):
        return paths
    return walk_deep_paths(base_url, published, len(keysets))


def etag_requests(base_url: str, event_ids: list[UUID]) -> list[Request]:
    """Conditional GETs naming each event's current ETag, checked to answer 304."""
    requests = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for event_id in event_ids:
            path = f"{EVENTS}/{event_id}"
            etag = client.get(path).headers["etag"]
            requests.append(Request("GET", path, {"If-None-Match": etag}))
        check = client.get(requests[0].path, headers=requests[0].headers)
    if check.status_code != 304:
        raise RuntimeError(f"{base_url}: If-None-Match gave {check.status_code}, not 304")
    return requests


class Tokens:
    """Access tokens for every attendee's session, minted as eventapi mints them."""

    def __init__(self, container: Container, fixtures: Fixtures) -> None:
        self._container = container
        self._fixtures = fixtures

    def mint(self) -> list[str]:
        service, now = self._container.tokens(), datetime.now(UTC)
        return [
            service.issue_access(user_id=user, session_id=session, role=Role.ATTENDEE, now=now)
            for session, user in self._fixtures.sessions
        ]


def signed_in(tokens: Tokens) -> Builder:
    minted: list[str] = []

    def build(kind: str, run: int) -> list[Request]:
        if not minted:
            minted.extend(tokens.mint())
        return [Request("GET", EVENTS, {"Authorization": f"Bearer {t}"}) for t in minted]

    return build


def spread_events_needed(users: int, runs: int, seconds: int) -> int:
    """Events to join so that no (user, event) pair repeats over every run."""
    return math.ceil(2 * runs * _join_lines(seconds) / users) + 1


def _join_lines(seconds: int) -> int:
    return max(MAX_JOINS_PER_SECOND * seconds, 2000)


def join_spread(tokens: Tokens, fixtures: Fixtures, seconds: int) -> Builder:
    """Distinct (user, event) pairs over all runs of both servers."""
    minted: list[str] = []
    next_pair = itertools.count()
    users, events = len(fixtures.sessions), fixtures.spread_events

    def build(kind: str, run: int) -> list[Request]:
        if not minted:
            minted.extend(tokens.mint())
        requests = []
        for pair in itertools.islice(next_pair, _join_lines(seconds)):
            user, event = pair % users, (pair // users) % len(events)
            path = f"{EVENTS}/{events[event]}/registrations"
            requests.append(Request("POST", path, {"Authorization": f"Bearer {minted[user]}"}))
        return requests

    return build


def join_hot(tokens: Tokens, fixtures: Fixtures) -> tuple[Builder, Callable[[str, int], UUID]]:
    """Every attendee joining one event; a fresh event for each run of each server."""
    minted: list[str] = []

    def hot_event(kind: str, run: int) -> UUID:
        return fixtures.hot_events[2 * run + (kind == CEILING)]

    def build(kind: str, run: int) -> list[Request]:
        if not minted:
            minted.extend(tokens.mint())
        path = f"{EVENTS}/{hot_event(kind, run)}/registrations"
        return [Request("POST", path, {"Authorization": f"Bearer {token}"}) for token in minted]

    return build, hot_event


def sign_ins(fixtures: Fixtures, seconds: int) -> Builder:
    """Password grants, each account at most once per run (the per-account limit)."""
    start = itertools.count()
    per_run = max(MAX_SIGN_INS_PER_SECOND * seconds, 100)
    emails = [email for _, email in fixtures.attendees]

    def build(kind: str, run: int) -> list[Request]:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        chosen = [emails[next(start) % len(emails)] for _ in range(per_run)]
        return [
            Request(
                "POST",
                "/api/v1/auth/token",
                headers,
                f"grant_type=password&username={email}&password={PASSWORD}",
            )
            for email in chosen
        ]

    return build


def simple(key: str, label: str, requests: list[Request]) -> Scenario:
    return Scenario(key, label, _same(requests))


def per_server(key: str, label: str, eventapi: list[Request], ceiling: list[Request]) -> Scenario:
    return Scenario(key, label, lambda kind, run: eventapi if kind == EVENTAPI else ceiling)
