"""Keyset paging over HTTP: `?limit=` and an opaque `?cursor=`."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.params import Parameter

from application.ports.queries import MAX_PAGE_SIZE, PageRequest
from entrypoints.http.cursors import CursorCodec

#: For free-text filters: PostgreSQL text cannot hold NUL, so a %00 would fail in the
#: driver (a 500) instead of being the 400 that bad input is.
NO_NUL = r"^[^\x00]*$"

Limit = Annotated[
    int,
    Parameter(ge=1, le=MAX_PAGE_SIZE, description=f"Page size, at most {MAX_PAGE_SIZE}"),
]


def query_fingerprint(request: Request[Any, Any, Any], listing: str) -> str:
    """Which listing and filters a cursor belongs to (everything but limit and cursor)."""
    params = sorted(
        (key, value)
        for key, values in request.query_params.dict().items()
        for value in values
        if key not in {"limit", "cursor"}
    )
    return f"{listing}:{request.url.path}:{params!r}"


def page_request(
    codec: CursorCodec, limit: int, cursor: str | None, fingerprint: str
) -> PageRequest:
    after = codec.decode(cursor, fingerprint) if cursor else None
    return PageRequest(limit=limit, after=after)
