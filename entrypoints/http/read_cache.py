"""Anonymous reads answered from the read cache, before Litestar routes them.

One ASGI step, inside the rate limits (a cached answer still counts) and the
request's log and metrics, serves what anonymous callers read most:

- `GET /api/v1/events/{id}`: a published (or cancelled) event, with its ETag;
- `GET /api/v1/events?...`: a first page (no `cursor`) whose query names only
  the common filters (`LISTING_PARAMETERS`), each at most once. The key is the
  query's raw `name=value` pairs, sorted: two queries share an entry only if
  Litestar reads them alike. Free-text search and `near` are not cached: too
  many distinct queries for too few repeats.

Signed-in requests (any `Authorization` header) pass through: they may see
drafts. So does a GET with a body (which Litestar refuses) and, when CORS is
configured, a request with an `Origin` (Litestar's CORS headers depend on it).
Only 200s are stored, so an error is never served from the cache, and every
query answered from it once passed Litestar's validation.

A hit with `If-None-Match` naming the entry's ETag is a 304, from the entry
alone. On a miss the request reaches Litestar without `If-None-Match`, so the
whole 200 is built once and stored, and the 304 (if it matches) is sent from
it. Listing pages carry an ETag too (the SHA-256 of the body, as events do).
Invalidation is not here: see application/read_cache.py.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, cast
from uuid import UUID

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from application.ports.read_cache import CachedResponse, ReadCache, ReadKey

EVENTS_PATH = "/api/v1/events"
_EVENT_PATH = re.compile(r"/api/v1/events/([0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})")
#: The listing filters worth caching; any other parameter (`q`, `near`, `cursor`,
#: a misspelling) sends the request through uncached.
LISTING_PARAMETERS = frozenset(
    {
        b"limit",
        b"sort",
        b"status",
        b"city",
        b"country",
        b"available",
        b"organizer_id",
        b"starts_from",
        b"starts_to",
    }
)
#: Responses larger than this are not kept (a page of 100 long events is ~1 MB).
MAX_ENTRY_BYTES = 512 * 1024
_SKIP_HEADERS = frozenset({b"authorization", b"origin"})
_BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


def read_key(path: str, query_string: bytes) -> ReadKey | None:
    """The cache key of an anonymous GET, or None when it is not cached."""
    if path == EVENTS_PATH:
        query = listing_query(query_string)
        return ReadKey.listing(query) if query is not None else None
    found = _EVENT_PATH.fullmatch(path)
    if found is None or query_string:
        return None
    return ReadKey.event(UUID(found[1]))


def listing_query(query_string: bytes) -> str | None:
    """The sorted raw pairs of a cacheable first page's query, or None."""
    if b";" in query_string:
        return None  # some parsers split on it too; not worth guessing
    pairs = [pair for pair in query_string.split(b"&") if pair]
    names = [pair.partition(b"=")[0] for pair in pairs]
    if len(set(names)) != len(names) or not LISTING_PARAMETERS.issuperset(names):
        return None
    return b"&".join(sorted(pairs)).decode("latin-1")


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def matches(header: bytes | None, etag: str) -> bool:
    """`If-None-Match` names `etag` (weakly compared, as the events controller does)."""
    if header is None:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in header.decode("latin-1").split(",")}
    return "*" in candidates or etag in candidates


def read_cache(app: ASGIApp, cache: ReadCache, *, cors: bool) -> ASGIApp:
    """Wrap `app` in the cache step (see the module docstring); `app` itself when the
    cache is off."""
    if cache.ttl_seconds <= 0:
        return app
    skipped = _SKIP_HEADERS if cors else frozenset({b"authorization"})
    #: The route templates Litestar sets, for the log and metrics of cached answers.
    templates: dict[str, Any] = {}

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "GET":
            await app(scope, receive, send)
            return
        key = read_key(scope["path"], scope.get("query_string", b""))
        if key is None:
            await app(scope, receive, send)
            return
        if_none_match: bytes | None = None
        for name, value in scope["headers"]:
            lowered = name.lower()
            if lowered in skipped or (lowered in _BODY_HEADERS and value not in {b"", b"0"}):
                await app(scope, receive, send)  # Litestar judges a GET with a body
                return
            if lowered == b"if-none-match":
                if_none_match = value
        lookup = await cache.lookup(key)
        if lookup.hit is not None:
            if key.kind in templates:
                scope["path_template"] = templates[key.kind]
            await _answer(send, lookup.hit, not_modified=matches(if_none_match, lookup.hit.etag))
            return
        if not lookup.usable:
            await app(scope, receive, send)
            return
        if if_none_match is not None:  # build the whole body once, to keep it
            scope["headers"] = [
                (n, v) for n, v in scope["headers"] if n.lower() != b"if-none-match"
            ]
        response = await _collect(app, scope, receive, send)
        if response is None:
            return  # streamed, or not a 200: already passed on as it was
        if "path_template" in scope:
            templates[key.kind] = scope["path_template"]
        if len(response.body) <= MAX_ENTRY_BYTES:
            await cache.store(lookup, response)
        await _answer(send, response, not_modified=matches(if_none_match, response.etag))

    return middleware


async def _collect(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send
) -> CachedResponse | None:
    """Run `app`; a complete 200 JSON response is kept and returned unsent, anything
    else is passed on to `send` unchanged (and None returned)."""
    start: Message | None = None
    chunks: list[bytes] = []
    size = 0
    passing = False

    async def capture(message: Message) -> None:
        nonlocal start, passing, size
        if passing:
            await send(message)
        elif message["type"] == "http.response.start":
            start = message
            if message["status"] != 200:
                passing = True
                await send(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if message.get("more_body", False) and size > MAX_ENTRY_BYTES:
                passing = True  # too big to keep: sent on as it comes
                assert start is not None
                await send(start)
                for chunk in chunks:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        else:
            await send(message)

    await app(scope, receive, capture)
    if passing or start is None:
        return None
    body = b"".join(chunks)
    sent = cast("list[tuple[bytes, bytes]]", start.get("headers", []))
    headers = {name.lower(): value for name, value in sent}
    content_type = headers.get(b"content-type", b"application/json").decode("latin-1")
    etag = headers.get(b"etag")
    return CachedResponse(
        body=body,
        etag=etag.decode("latin-1") if etag is not None else etag_of(body),
        content_type=content_type,
    )


async def _answer(send: Send, response: CachedResponse, *, not_modified: bool) -> None:
    etag = response.etag.encode("latin-1")
    if not_modified:
        await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", etag)]})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    headers = [
        (b"content-type", response.content_type.encode("latin-1")),
        (b"content-length", str(len(response.body)).encode()),
        (b"etag", etag),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": False})
