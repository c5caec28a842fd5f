"""Route guards: the early "who may call this at all" check, before any body is read.

Guards only look for credentials; whether they are valid, and what the caller may
do, is decided by the principal dependency and the use cases.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from domain.errors import NotAuthenticated


def requires_bearer(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Signed-in routes answer 401 to anonymous callers before validating a body."""
    if "authorization" not in connection.headers:
        raise NotAuthenticated("sign in to do this")
