"""The lean ceiling: the same work per request as eventapi, with nothing else.

Litestar + raw asyncpg + msgspec on the same database, served the way eventapi
is served (bench/servers.py). Each route does what eventapi's does, in as few
round trips as the work allows, and no more:

- `GET /ping`: nothing (the keep-alive floor; eventapi's is `/health/live`).
- `GET /api/v1/events`: the listing in eventapi's SQL shape (the page's ids by
  keyset, `LIMIT n + 1`, then those rows joined to their organizer), the same
  filters, an HMAC-signed cursor bound to the filters. With a bearer token, the
  JWT is decoded and its session and user are read first (one query).
- `GET /api/v1/events/{id}`: one row, an `ETag`, `If-None-Match` gives 304.
- `POST /api/v1/events/{id}/registrations`: JWT, then one transaction: the
  session and user (held shared), the event locked with the caller's existing
  registration, then the registration, the seat counter and an outbox row in one
  statement.
- `POST /api/v1/auth/token`: the password grant; the user by e-mail, the keyed
  pre-hash and a bcrypt check off the loop, a session row, a signed JWT.

Configured by `BENCH_CEILING_*` variables (`CeilingConfig`), which bench/servers.py
derives from eventapi's own settings, so tokens, password hashes and the database
are shared. Never imported by the service: this is a yardstick, not a code path.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import importlib
import json
import math
import os
import secrets
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qsl

import asyncpg
import bcrypt
import jwt
import msgspec
from litestar import Litestar, Request, Response, get, post

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = 2 * math.pi * EARTH_RADIUS_KM / 360
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
PROBLEM = "application/problem+json"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

EVENT_COLUMNS = (
    "e.id, e.title, e.description, e.venue, e.address, e.city, e.country, e.latitude, "
    "e.longitude, e.starts_at, e.ends_at, e.timezone, e.capacity, e.attendee_count, "
    "e.waitlist_enabled, e.waitlist_count, e.status, e.organizer_id, e.created_at, "
    "e.updated_at, u.full_name AS organizer_name"
)
#: The expression of the full-text GIN index (migration 0004), so the planner can use it.
DOCUMENT = "to_tsvector('simple'::regconfig, search_text)"
CALLER_SQL = (
    "SELECT s.user_id, s.expires_at, s.revoked_at, u.role, u.is_active "
    "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1"
)
JOIN_LOCK_SQL = (
    "SELECT e.status, e.capacity, e.attendee_count, e.ends_at, "
    "(SELECT r.status FROM registrations r WHERE r.event_id = e.id AND r.user_id = $2) "
    "AS existing FROM events e WHERE e.id = $1 FOR UPDATE OF e"
)
JOIN_WRITE_SQL = (
    "WITH registration AS ("
    " INSERT INTO registrations (id, event_id, user_id, status, created_at, updated_at)"
    " VALUES ($1, $2, $3, 'confirmed', $4, $4)),"
    " seat AS (UPDATE events SET attendee_count = attendee_count + 1 WHERE id = $2)"
    " INSERT INTO outbox (cause_id, kind, recipient_id, event_id, details, created_at, status,"
    " attempts, next_attempt_at)"
    " VALUES ($5, 'registration_confirmed', $3, $2, '{}'::jsonb, $4, 'pending', 0, $4)"
)


@dataclass(frozen=True, slots=True)
class CeilingConfig:
    dsn: str
    pool_size: int
    token_key: bytes
    token_kid: str
    issuer: str
    audience: str
    access_ttl_seconds: int
    pepper: bytes
    cursor_key: bytes

    PREFIX = "BENCH_CEILING_"

    def to_environment(self) -> dict[str, str]:
        return {
            f"{self.PREFIX}DSN": self.dsn,
            f"{self.PREFIX}POOL_SIZE": str(self.pool_size),
            f"{self.PREFIX}TOKEN_KEY": self.token_key.hex(),
            f"{self.PREFIX}TOKEN_KID": self.token_kid,
            f"{self.PREFIX}ISSUER": self.issuer,
            f"{self.PREFIX}AUDIENCE": self.audience,
            f"{self.PREFIX}ACCESS_TTL": str(self.access_ttl_seconds),
            f"{self.PREFIX}PEPPER": self.pepper.hex(),
            f"{self.PREFIX}CURSOR_KEY": self.cursor_key.hex(),
        }

    @classmethod
    def from_environment(cls) -> CeilingConfig:
        def read(name: str) -> str:
            return os.environ[f"{cls.PREFIX}{name}"]

        return cls(
            dsn=read("DSN"),
            pool_size=int(read("POOL_SIZE")),
            token_key=bytes.fromhex(read("TOKEN_KEY")),
            token_kid=read("TOKEN_KID"),
            issuer=read("ISSUER"),
            audience=read("AUDIENCE"),
            access_ttl_seconds=int(read("ACCESS_TTL")),
            pepper=bytes.fromhex(read("PEPPER")),
            cursor_key=bytes.fromhex(read("CURSOR_KEY")),
        )


# -- response bodies (eventapi's field names) -------------------------------------------


class Location(msgspec.Struct):
    venue: str
    address: str
    city: str
    country: str
    latitude: float | None
    longitude: float | None


class Organizer(msgspec.Struct):
    id: uuid.UUID
    full_name: str


class EventOut(msgspec.Struct):
    id: uuid.UUID
    title: str
    description: str
    location: Location
    starts_at: datetime
    ends_at: datetime
    timezone: str
    capacity: int
    attendee_count: int
    available_seats: int
    waitlist_enabled: bool
    waitlist_count: int
    status: str
    organizer: Organizer
    created_at: datetime
    updated_at: datetime


class EventPage(msgspec.Struct):
    items: list[EventOut]
    next_cursor: str | None


class RegistrationOut(msgspec.Struct):
    id: uuid.UUID
    event_id: uuid.UUID
    user_id: uuid.UUID
    status: str
    waitlist_position: int | None
    created_at: datetime


class TokenOut(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str


def _event(row: asyncpg.Record) -> EventOut:
    return EventOut(
        id=row["id"],
        title=row["title"],
        description=row["description"],
        location=Location(
            row["venue"],
            row["address"],
            row["city"],
            row["country"],
            row["latitude"],
            row["longitude"],
        ),
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        timezone=row["timezone"],
        capacity=row["capacity"],
        attendee_count=row["attendee_count"],
        available_seats=max(row["capacity"] - row["attendee_count"], 0),
        waitlist_enabled=row["waitlist_enabled"],
        waitlist_count=row["waitlist_count"],
        status=row["status"],
        organizer=Organizer(row["organizer_id"], row["organizer_name"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# -- cursors, as eventapi's: keyset + filters, HMAC-signed --------------------------------


def cursor_fingerprint(params: dict[str, str]) -> str:
    kept = sorted((k, v) for k, v in params.items() if k not in {"limit", "cursor"})
    return f"events:{kept!r}"


def encode_cursor(key: bytes, starts_at: datetime, event_id: uuid.UUID, fingerprint: str) -> str:
    payload = json.dumps([starts_at.isoformat(), str(event_id)], separators=(",", ":"))
    body = base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()
    return f"{body}.{_sign(key, body, fingerprint)}"


def _decode_cursor(key: bytes, cursor: str, fingerprint: str) -> tuple[datetime, uuid.UUID]:
    body, _, signature = cursor.partition(".")
    if not hmac.compare_digest(signature, _sign(key, body, fingerprint)):
        raise ValueError("bad cursor")
    moment, row_id = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return datetime.fromisoformat(moment), uuid.UUID(row_id)


def _sign(key: bytes, body: str, fingerprint: str) -> str:
    mac = hmac.new(key, f"{fingerprint}\n{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


# -- the app ------------------------------------------------------------------------------


class BadRequest(Exception):
    pass


class Unauthorized(Exception):
    pass


def _problem(status: int, kind: str, title: str) -> Response[bytes]:
    body = msgspec.json.encode(
        {"type": f"/problems/{kind}", "title": title, "status": status, "detail": title}
    )
    return Response(body, status_code=status, media_type=PROBLEM)


class Ceiling:
    def __init__(self, config: CeilingConfig) -> None:
        self.config = config
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "the pool opens on start-up"
        return self._pool

    async def start(self) -> None:
        size = self.config.pool_size
        self._pool = await asyncpg.create_pool(self.config.dsn, min_size=1, max_size=size)

    async def stop(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    # identity

    async def caller(self, request: Request[Any, Any, Any]) -> uuid.UUID | None:
        """The signed-in user (None for anonymous); Unauthorized for a bad token."""
        header = request.headers.get("authorization")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized
        session_id = self._session_of(token)
        row = await self.pool.fetchrow(CALLER_SQL, session_id)
        return self._valid_caller(row)

    def _session_of(self, token: str) -> uuid.UUID:
        try:
            claims = jwt.decode(
                token,
                self.config.token_key,
                algorithms=["HS256"],
                audience=self.config.audience,
                issuer=self.config.issuer,
                options={"require": ["iss", "aud", "sub", "sid", "exp", "iat", "jti"]},
            )
            return uuid.UUID(str(claims["sid"]))
        except (jwt.PyJWTError, ValueError) as exc:
            raise Unauthorized from exc

    @staticmethod
    def _valid_caller(row: asyncpg.Record | None) -> uuid.UUID:
        now = datetime.now(UTC)
        if row is None or row["revoked_at"] is not None or row["expires_at"] <= now:
            raise Unauthorized
        if not row["is_active"]:
            raise Unauthorized
        user_id: uuid.UUID = row["user_id"]
        return user_id

    # reads

    async def page(self, params: dict[str, str]) -> EventPage:
        limit = int(params.get("limit", DEFAULT_LIMIT))
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest
        fingerprint = cursor_fingerprint(params)
        args: list[Any] = []

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        where = ["status = 'published'"]
        if q := params.get("q", "").strip():
            # eventapi's q: every word a prefix, all required (the bench's searches are
            # plain words); the stored search_text is folded already.
            words = " & ".join(f"'{w}':*" for w in q.casefold().split() if w.isalnum())
            where.append(f"{DOCUMENT} @@ to_tsquery('simple'::regconfig, {arg(words)})")
        if "starts_from" in params:
            where.append(f"starts_at >= {arg(_moment(params['starts_from'], end=False))}")
        if "starts_to" in params:
            where.append(f"starts_at <= {arg(_moment(params['starts_to'], end=True))}")
        if city := params.get("city"):
            # eventapi's city: a prefix of the folded name, on the byte-ordered index.
            key = city.strip().casefold()
            upper = key[:-1] + chr(ord(key[-1]) + 1)
            where.append(f'city_key COLLATE "C" >= {arg(key)}')
            where.append(f'city_key COLLATE "C" < {arg(upper)}')
        if params.get("available") == "true":
            where.append("attendee_count < capacity")
        if "near" in params:
            where.extend(_near(params["near"], float(params.get("radius_km", 25)), arg))
        if cursor := params.get("cursor"):
            try:
                starts_at, after = _decode_cursor(self.config.cursor_key, cursor, fingerprint)
            except (ValueError, TypeError) as exc:
                raise BadRequest from exc
            where.append(f"(starts_at, id) > ({arg(starts_at)}, {arg(after)})")
        sql = (
            f"SELECT {EVENT_COLUMNS} FROM events e JOIN users u ON u.id = e.organizer_id "
            f"WHERE e.id IN (SELECT id FROM events WHERE {' AND '.join(where)} "
            f"ORDER BY starts_at, id LIMIT {arg(limit + 1)}) ORDER BY e.starts_at, e.id"
        )
        rows = await self.pool.fetch(sql, *args)
        items = [_event(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            next_cursor = encode_cursor(
                self.config.cursor_key, last.starts_at, last.id, fingerprint
            )
        return EventPage(items, next_cursor)

    async def event(self, event_id: uuid.UUID) -> EventOut | None:
        row = await self.pool.fetchrow(
            f"SELECT {EVENT_COLUMNS} FROM events e JOIN users u ON u.id = e.organizer_id "
            "WHERE e.id = $1 AND e.status = 'published'",
            event_id,
        )
        return None if row is None else _event(row)

    # writes

    async def join(self, token: str, event_id: uuid.UUID) -> RegistrationOut | Response[bytes]:
        session_id = self._session_of(token)
        now = datetime.now(UTC)
        registration_id = uuid.uuid4()
        async with self.pool.acquire() as connection, connection.transaction():
            caller = await connection.fetchrow(f"{CALLER_SQL} FOR SHARE OF u", session_id)
            user_id = self._valid_caller(caller)
            event = await connection.fetchrow(JOIN_LOCK_SQL, event_id, user_id)
            if event is None or event["status"] != "published":
                return _problem(404, "not-found", "No such event")
            if event["ends_at"] <= now:
                return _problem(409, "event-ended", "The event is over")
            if event["existing"] is not None:
                return _problem(409, "already-registered", "Already registered")
            if event["attendee_count"] >= event["capacity"]:
                return _problem(409, "event-full", "The event is full")
            await connection.execute(
                JOIN_WRITE_SQL, registration_id, event_id, user_id, now, uuid.uuid4()
            )
        return RegistrationOut(registration_id, event_id, user_id, "confirmed", None, now)

    async def sign_in(self, form: dict[str, str]) -> TokenOut | None:
        if form.get("grant_type") != "password":
            return None
        user = await self.pool.fetchrow(
            "SELECT id, password_hash, role, is_active FROM users WHERE lower(email) = $1",
            form.get("username", "").lower(),
        )
        digest = base64.b64encode(
            hmac.new(self.config.pepper, form.get("password", "").encode(), "sha256").digest()
        )
        stored = (user["password_hash"] if user else "").rpartition(":")[2]
        if not stored.startswith("$2"):
            return None
        matches = await asyncio.to_thread(bcrypt.checkpw, digest, stored.encode("ascii"))
        if not matches or user is None or not user["is_active"]:
            return None
        now = datetime.now(UTC)
        session_id, refresh = uuid.uuid4(), secrets.token_urlsafe(32)
        await self.pool.execute(
            "INSERT INTO sessions (id, user_id, current_token_digest, created_at, expires_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            session_id,
            user["id"],
            hashlib.sha256(refresh.encode()).hexdigest(),
            now,
            now + timedelta(days=30),
        )
        stamp = int(now.timestamp())
        claims = {
            "iss": self.config.issuer,
            "aud": self.config.audience,
            "sub": str(user["id"]),
            "sid": str(session_id),
            "role": user["role"],
            "jti": secrets.token_urlsafe(16),
            "iat": stamp,
            "nbf": stamp,
            "exp": stamp + self.config.access_ttl_seconds,
        }
        headers = {"kid": self.config.token_kid, "typ": "at+jwt"}
        token = jwt.encode(claims, self.config.token_key, algorithm="HS256", headers=headers)
        return TokenOut(token, "bearer", self.config.access_ttl_seconds, refresh)


def _moment(raw: str, *, end: bool) -> datetime:
    if len(raw) == 10:
        return datetime.combine(date.fromisoformat(raw), time.max if end else time.min, UTC)
    return datetime.fromisoformat(raw)


def _near(raw: str, radius_km: float, arg: Any) -> list[str]:
    """eventapi's bounding box and haversine (no antimeridian or pole cases: not benched)."""
    lat, lng = (float(part) for part in raw.split(","))
    dlat = radius_km / KM_PER_DEGREE * 1.01 + 1e-9
    dlng = dlat / math.cos(math.radians(max(abs(lat - dlat), abs(lat + dlat))))
    lat1 = math.radians(lat)
    distance = (
        f"2 * {EARTH_RADIUS_KM} * asin(least(1.0, sqrt(power(sin((radians(latitude) - "
        f"{arg(lat1)}) / 2), 2) + {arg(math.cos(lat1))} * cos(radians(latitude)) * "
        f"power(sin(radians(longitude - {arg(lng)}) / 2), 2))))"
    )
    return [
        f"latitude BETWEEN {arg(lat - dlat)} AND {arg(lat + dlat)}",
        f"longitude BETWEEN {arg(lng - dlng)} AND {arg(lng + dlng)}",
        f"{distance} <= {arg(radius_km)}",
    ]


def _etag(body: bytes) -> str:
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def create_app() -> Litestar:
    """The ASGI app, one per server process (the factory eventapi's server runs)."""
    set_nodelay_on_accept()
    ceiling = Ceiling(CeilingConfig.from_environment())

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await ceiling.start()
        try:
            yield
        finally:
            await ceiling.stop()

    @get("/ping", media_type="text/plain")
    async def ping() -> str:
        return "pong"

    @get("/api/v1/events")
    async def events(request: Request[Any, Any, Any]) -> Response[Any]:
        try:
            await ceiling.caller(request)
            page = await ceiling.page(dict(request.query_params))
        except Unauthorized:
            return _problem(401, "unauthorized", "Sign in")
        except (BadRequest, ValueError):
            return _problem(400, "invalid", "Invalid query")
        return Response(page)

    @get("/api/v1/events/{event_id:uuid}")
    async def event(request: Request[Any, Any, Any], event_id: uuid.UUID) -> Response[Any]:
        found = await ceiling.event(event_id)
        if found is None:
            return _problem(404, "not-found", "No such event")
        body = msgspec.json.encode(found)
        etag = _etag(body)
        if etag in request.headers.get("if-none-match", ""):
            return Response(b"", status_code=304, headers={"ETag": etag})
        return Response(body, media_type="application/json", headers={"ETag": etag})

    @post("/api/v1/events/{event_id:uuid}/registrations", status_code=201)
    async def join(request: Request[Any, Any, Any], event_id: uuid.UUID) -> Response[Any]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer":
                raise Unauthorized
            outcome = await ceiling.join(token, event_id)
        except Unauthorized:
            return _problem(401, "unauthorized", "Sign in")
        if isinstance(outcome, Response):
            return outcome
        return Response(outcome, status_code=201)

    @post("/api/v1/auth/token", status_code=200)
    async def token(request: Request[Any, Any, Any]) -> Response[Any]:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        issued = await ceiling.sign_in(form)
        if issued is None:
            error = {"error": "invalid_grant", "error_description": "Wrong e-mail or password"}
            return Response(error, status_code=400, headers=NO_STORE)
        return Response(issued, headers=NO_STORE)

    return Litestar([ping, events, event, join, token], lifespan=[lifespan], openapi_config=None)


def set_nodelay_on_accept() -> None:
    """TCP_NODELAY on every accepted connection, so the ceiling is a true ceiling.

    uvicorn with `--workers` hands asyncio sockets made with `proto=0`, and asyncio
    sets TCP_NODELAY only for `IPPROTO_TCP` sockets (Kludex/uvicorn#3149): Nagle and
    delayed ACKs then stall keep-alive responses ~40 ms. Whatever uvicorn protocol
    serves (h11 or httptools), its `connection_made` now sets the option first.
    Other servers are left alone (they set it themselves, or the bench shows it).
    """
    for module_name, name in (("h11_impl", "H11Protocol"), ("httptools_impl", "HttpToolsProtocol")):
        try:
            module = importlib.import_module(f"uvicorn.protocols.http.{module_name}")
        except ImportError:  # that protocol's parser is not installed, or no uvicorn
            continue
        protocol = getattr(module, name, None)
        if protocol is None or getattr(protocol, "_bench_nodelay", False):
            continue
        original = protocol.connection_made

        def connection_made(self: Any, transport: Any, _original: Any = original) -> None:
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _original(self, transport)

        protocol.connection_made = connection_made
        protocol._bench_nodelay = True
