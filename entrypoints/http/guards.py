"""Route guards: the early "who may call this at all" check, before any body is read.

Guards read the credentials the edge step verified (`credentials.py`); what the
caller may do is decided by the principal dependency and the use cases.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from application.errors import NotAuthenticated
from entrypoints.http.credentials import MALFORMED, credentials_of


async def requires_bearer(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Signed-in routes answer 401 to callers without a valid access token before
    validating a body.

    A coroutine although it awaits nothing: Litestar runs a plain function guard in
    its thread pool, a hop per signed-in request (~9 % of a join's CPU) for what is
    two attribute reads."""
    credentials = credentials_of(connection.scope)
    if not credentials.presented:
        raise NotAuthenticated("sign in to do this")
    if credentials.claims is None:
        raise NotAuthenticated(credentials.refusal or MALFORMED)
