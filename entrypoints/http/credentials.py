"""Credentials, read once at the edge: one ASGI step parses the `Authorization`
header and verifies the bearer token (signature, expiry), and leaves the result
in the request scope for everything after it (`credentials_of(scope)`): the rate
limits key signed-in callers by it, the `requires_bearer` guard refuses
requests without valid ones, and the principal dependency turns its claims into
the caller (with the session and account as they stand now).

- No `Authorization` header: anonymous.
- One header: `Bearer <token>` with a valid access token gives its claims;
  anything else is kept as a refusal (the reason), which is a 401 wherever the
  caller is asked for, never silently anonymous.
- More than one header: 400 problem+json at once. Which one counts is not for
  the server to guess (a duplicated header once signed people in as the first
  token while the limits saw an anonymous caller).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from application.errors import NotAuthenticated
from application.ports.security import AccessClaims, TokenService
from application.ports.system import Clock
from entrypoints.http.problems import PROBLEM_JSON, Problem

#: Where the result lives in `scope["state"]`.
STATE_KEY = "eventapi.credentials"
MAX_TOKEN_LENGTH = 4096
MALFORMED = "use 'Authorization: Bearer <access token>'"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the request's `Authorization` header proved: claims, a refusal, or nothing."""

    claims: AccessClaims | None = None
    #: Why the header that was sent does not sign anyone in.
    refusal: str | None = None

    @property
    def presented(self) -> bool:
        return self.claims is not None or self.refusal is not None


ANONYMOUS = Credentials()


def credentials_of(scope: Scope) -> Credentials:
    """The request's credentials; anonymous if the edge step did not run."""
    state: MutableMapping[str, Any] = scope.get("state", {})
    found = state.get(STATE_KEY, ANONYMOUS)
    return found if isinstance(found, Credentials) else ANONYMOUS


def bearer_credentials(app: ASGIApp, tokens: TokenService, clock: Clock) -> ASGIApp:
    """Wrap `app` in the step that reads the credentials (see the module docstring)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        values = [value for name, value in scope["headers"] if name.lower() == b"authorization"]
        if len(values) > 1:
            await _refuse_repeated(send)
            return
        credentials = read(values[0].decode("latin-1"), tokens, clock) if values else ANONYMOUS
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        state[STATE_KEY] = credentials
        await app(scope, receive, send)

    return middleware


def read(header: str, tokens: TokenService, clock: Clock) -> Credentials:
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        return Credentials(refusal=MALFORMED)
    try:
        return Credentials(claims=tokens.read_access(token, clock.now()))
    except NotAuthenticated as refused:
        return Credentials(refusal=refused.detail)


async def _refuse_repeated(send: Send) -> None:
    body = msgspec.json.encode(
        Problem(
            type="/problems/bad-request",
            title="Bad Request",
            status=400,
            detail="send at most one Authorization header",
        )
    )
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
