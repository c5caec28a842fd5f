"""The actor of each request, for the audit log: bound at the edge, read by the core.

Runs just inside the step that verifies the bearer token: the actor is the
account the token names (a request whose session turns out revoked is a 401
and changes nothing) and the client address is the one the rate limits and the
access log use (`client_of`, which honours EVENTAPI_TRUSTED_PROXIES). The
binding (adapters/actor_context.py) ends with the request.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from adapters.actor_context import ContextVarActors
from application.ports.audit import Actor
from entrypoints.http.credentials import credentials_of
from entrypoints.http.rate_limits import client_of, trusted_networks


def audit_context(
    app: ASGIApp, actors: ContextVarActors, trusted_proxies: tuple[str, ...]
) -> ASGIApp:
    proxies = trusted_networks(trusted_proxies)

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        claims = credentials_of(scope).claims
        actor = Actor(
            user_id=None if claims is None else claims.user_id, ip=client_of(scope, proxies)
        )
        with actors.acting(actor):
            await app(scope, receive, send)

    return middleware
