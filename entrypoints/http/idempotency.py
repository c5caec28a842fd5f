"""`Idempotency-Key` on the POST routes that create or change something.

`@idempotent` on a route handler (above its `@post(...)`) is all a route needs:
it adds the step below to that route alone, the header parameter and the 409/422
answers to its OpenAPI operation (`openapi.py` adds `Idempotent-Replayed` to the
responses of every operation that takes the header).

The step runs once the request is routed, after the edge steps (request id,
credentials, rate limits: a replay is a request and is counted), and before the
route's guards and handler:

1. No header: nothing to do. More than one, or not 1-255 printable ASCII
   characters: 400 problem+json, nothing is done.
2. The caller: the signed-in user (`user:<id>`; on a signed-in route the session
   is checked as the handler would check it, so a signed-out session gets no
   replay), else the client address (`address:<ip>`, as the rate limits resolve
   it, trusted proxies included). A signed-in route called without valid
   credentials is left to its guard (a 401, nothing stored); a public route (sign-up)
   takes a verified token's user as the caller, as the rate limits do.
3. The fingerprint: SHA-256 over method, path, query string, media type and
   the exact body bytes. Same key with another fingerprint: 422
   `/problems/idempotency-key-reused`.
4. The store (application/ports/idempotency.py) claims (caller, key): the first
   request runs; one arriving while it runs is 409 `/problems/idempotency-key-in-use`;
   one after it answered gets the stored answer again (status, body,
   `Content-Type`, `Location`, `ETag`) with `Idempotent-Replayed: true`.
5. What is stored: final answers, 2xx and 4xx, except 401, 403 and 429 (which
   depend on credentials or timing, not on the request), and answers over
   `MAX_STORED_BODY`; those and every 5xx (and an exception) release the key, so
   a retry runs afresh. The answer is stored before it is sent, so a client that
   retries after reading it always gets the replay.

docs/adr/0009-idempotency-keys.md says why.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send
from litestar.types.asgi_types import HTTPRequestEvent

from application.ports.idempotency import (
    Claimed,
    IdempotencyStore,
    InFlight,
    Mismatch,
    Replay,
    StoredResponse,
    user_caller,
)
from application.ports.system import Clock
from application.principal import Principal
from application.use_cases.identify_caller import IdentifyCaller
from entrypoints.http.credentials import credentials_of
from entrypoints.http.guards import requires_bearer
from entrypoints.http.observe import USER_ID
from entrypoints.http.openapi import responses
from entrypoints.http.problems import PROBLEM_JSON, FieldError, Problem
from entrypoints.http.rate_limits import Network, client_of

log = logging.getLogger("eventapi.idempotency")

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
_HEADER_BYTES = HEADER.lower().encode()
#: 1-255 printable ASCII characters (space to tilde), not starting or ending with a
#: space (HTTP drops those from a header value, so they could not be sent anyway).
KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"
_KEY = re.compile(KEY_PATTERN)
#: Where `create_app` leaves the `IdempotencyEdge` (in the Litestar app's state).
APP_STATE_KEY = "eventapi.idempotency"
#: Where the step leaves the caller it identified, for the principal dependency.
PRINCIPAL_KEY = "eventapi.principal"
#: Response headers stored and replayed with the status and body.
KEPT_HEADERS = frozenset({b"content-type", b"location", b"etag"})
#: Answers that depend on who is asking or when, not on the request: never stored.
NOT_STORED = frozenset({401, 403, 429})
#: A larger answer is sent but not stored (the key is released). No route that
#: takes the header answers anywhere near this much.
MAX_STORED_BODY = 256 * 1024


@dataclass(frozen=True, slots=True)
class IdempotencyEdge:
    """What the step needs from the container, set once by `create_app`."""

    store: Callable[[], IdempotencyStore]
    clock: Callable[[], Clock]
    identify_caller: Callable[[], IdentifyCaller]
    proxies: tuple[Network, ...]
    #: The app's request body limit: a larger body is left to the app (413).
    max_body_bytes: int


def idempotent(handler: HTTPRouteHandler) -> HTTPRouteHandler:
    """Make a POST route honour `Idempotency-Key` (see the module docstring)."""
    handler.middleware = [*(handler.middleware or []), idempotency_step]
    handler.parameters = {  # type: ignore[attr-defined]  # a layered parameter, documented
        **(getattr(handler, "parameters", None) or {}),
        "idempotency_key": HeaderParameter(
            annotation=str | None,
            name=HEADER,
            required=False,
            min_length=1,
            max_length=255,
            pattern=KEY_PATTERN,
            description=(
                "Makes a retry safe: within 24 h, the same key from the same caller with "
                "the same request replays the first answer (with `Idempotent-Replayed: "
                "true`) and does nothing again. 1-255 printable ASCII characters, e.g. "
                "a UUID; keys are per caller, never shared."
            ),
        ),
    }
    declared = dict(handler.responses or {})
    declared.update(IDEMPOTENCY_RESPONSES)
    handler.responses = declared
    return handler


_KEY_RULE = "use 1-255 printable ASCII characters, not starting or ending with a space"
_IN_USE = "the first request with this Idempotency-Key is still running; retry shortly"
_REUSED = "this Idempotency-Key was used for a different request"
IDEMPOTENCY_RESPONSES: dict[int, ResponseSpec] = {
    409: replace(
        responses(409)[409],
        description="The request clashes with the current state, or (`/problems/"
        "idempotency-key-in-use`) the first request with its `Idempotency-Key` is "
        "still running.",
    ),
    422: replace(
        responses(422)[422],
        description="`/problems/idempotency-key-reused`: the `Idempotency-Key` was used "
        "for a different request (method, path, query or body) within 24 h.",
    ),
}


def idempotency_step(app: ASGIApp) -> ASGIApp:
    """The route middleware `@idempotent` installs."""

    async def step(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        values = [value for name, value in scope["headers"] if name.lower() == _HEADER_BYTES]
        if not values:
            await app(scope, receive, send)
            return
        key = values[0].decode("latin-1")
        if len(values) > 1 or not _KEY.match(key):
            why = "send one" if len(values) > 1 else _KEY_RULE
            await _problem(send, 400, "invalid-input", f"invalid {HEADER}", field=why)
            return
        edge: IdempotencyEdge = scope["app"].state[APP_STATE_KEY]
        caller = await _caller(scope, edge)
        if caller is None:
            await app(scope, receive, send)  # the guard answers 401
            return
        if _declared_length(scope) > edge.max_body_bytes:
            await app(scope, receive, send)  # the app answers 413
            return
        body = await _read_body(receive, edge.max_body_bytes)
        if body is None:
            await _problem(send, 413, "payload-too-large", "the body is over 1 MiB")
            return
        outcome = await edge.store().claim(
            caller, key, _fingerprint(scope, body), now=edge.clock().now()
        )
        if isinstance(outcome, Replay):
            await _replay(send, outcome.response)
        elif isinstance(outcome, InFlight):
            await _problem(send, 409, "idempotency-key-in-use", _IN_USE)
        elif isinstance(outcome, Mismatch):
            await _problem(send, 422, "idempotency-key-reused", _REUSED)
        else:
            await _run(app, scope, body, receive, send, edge, caller, key, outcome)

    return step


async def _caller(scope: Scope, edge: IdempotencyEdge) -> str | None:
    """`user:<id>` or `address:<ip>`; None when the route's guard will refuse anyway."""
    credentials = credentials_of(scope)
    handler = scope.get("route_handler")
    signed_in_route = handler is not None and requires_bearer in handler.resolve_guards()
    if credentials.claims is not None:
        if not signed_in_route:
            # A public route (sign-up) reads no principal: a token there only names the
            # caller, as it does for the rate limits (verified, no session lookup).
            return user_caller(credentials.claims.user_id)
        principal = await edge.identify_caller().identify(credentials.claims)  # 401 if ended
        state: MutableMapping[str, Any] = scope["state"]
        state[PRINCIPAL_KEY] = principal
        state[USER_ID] = str(principal.user_id)  # for the request's log record, replays too
        return user_caller(principal.user_id)
    if credentials.presented or signed_in_route:
        return None  # the route answers as it always did (a 401 where it needs a caller)
    return f"address:{client_of(scope, edge.proxies)}"


def principal_of(scope: Scope) -> Principal | None:
    """The caller this step identified for the request, if it did."""
    found = scope.get("state", {}).get(PRINCIPAL_KEY)
    return found if isinstance(found, Principal) else None


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0  # the server refuses such a request before it gets here
    return 0


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it grows past `limit` (a chunked one)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away; the handler sees an empty body
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _fingerprint(scope: Scope, body: bytes) -> str:
    media_type = ""
    for name, value in scope["headers"]:
        if name.lower() == b"content-type":
            media_type = value.decode("latin-1")
    return request_fingerprint(
        str(scope.get("method", "")),
        scope.get("raw_path") or scope["path"].encode(),
        scope.get("query_string", b""),
        media_type,
        body,
    )


def request_fingerprint(
    method: str, raw_path: bytes, query_string: bytes, content_type: str, body: bytes
) -> str:
    """What makes two requests "the same request": SHA-256 over the method, the path
    and query as sent, the media type (without parameters such as charset) and the
    exact body bytes (JSON is not normalised: a retry sends what it sent)."""
    media_type = content_type.split(";")[0].strip().lower()
    digest = hashlib.sha256()
    for part in (method.encode(), raw_path, query_string, media_type.encode()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    digest.update(body)
    return digest.hexdigest()


async def _run(
    app: ASGIApp,
    scope: Scope,
    body: bytes,
    receive: Receive,
    send: Send,
    edge: IdempotencyEdge,
    caller: str,
    key: str,
    claim: Claimed,
) -> None:
    """Run the request with the body read, keep its answer, store it, then send it."""
    sent_body = False

    async def replay_body() -> ReceiveMessage:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return HTTPRequestEvent(type="http.request", body=body, more_body=False)
        return await receive()  # waits for the disconnect, as the server's would

    messages: list[Message] = []

    async def keep(message: Message) -> None:
        messages.append(message)

    try:
        await app(scope, replay_body, keep)
    except BaseException:
        await asyncio.shield(_forget(edge, caller, key, claim))
        raise
    start = next((m for m in messages if m["type"] == "http.response.start"), None)
    answer = b"".join(
        bytes(m.get("body", b"")) for m in messages if m["type"] == "http.response.body"
    )
    status = int(start["status"]) if start is not None else 500
    if start is not None and _storable(status) and len(answer) <= MAX_STORED_BODY:
        kept = tuple(
            (name.decode("latin-1").lower(), value.decode("latin-1"))
            for name, value in start.get("headers", [])
            if name.lower() in KEPT_HEADERS
        )
        try:
            stored = StoredResponse(status, kept, answer)
            await edge.store().complete(caller, key, claim.token, stored)
        except Exception:  # the answer is owed all the same; the lease frees the key
            log.exception("could not store the answer of an idempotent request")
    else:
        await _forget(edge, caller, key, claim)
    for message in messages:
        await send(message)


def _storable(status: int) -> bool:
    return 200 <= status < 500 and status not in NOT_STORED


async def _forget(edge: IdempotencyEdge, caller: str, key: str, claim: Claimed) -> None:
    try:
        await edge.store().release(caller, key, claim.token)
    except Exception:  # the lease frees the key in the end
        log.exception("could not release an idempotency key")


async def _replay(send: Send, response: StoredResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers += [
        (b"content-length", str(len(response.body)).encode()),
        (REPLAYED.lower().encode(), b"true"),
    ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": False})


async def _problem(send: Send, status: int, slug: str, detail: str, *, field: str = "") -> None:
    problem = Problem(
        type=f"/problems/{slug}",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        errors=[FieldError(field=HEADER, message=field)] if field else [],
    )
    body = msgspec.json.encode(problem)
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
