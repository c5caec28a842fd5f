"""Every error as RFC 9457 problem+json, decided in one place.

Domain errors carry data, not HTTP codes; this module is where they become
statuses. Nothing here ever echoes a stack trace, SQL or an internal name.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from application.errors import (
    EmailUnverified,
    NotAuthenticated,
    PreconditionFailed,
    TooManyAttempts,
)
from application.ports.storage import StorageUnavailable
from domain.errors import (
    AlreadyCheckedIn,
    Conflict,
    DomainError,
    InvalidCredentials,
    InvalidValue,
    NotAllowed,
    NotFound,
)

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("eventapi.http")


class FieldError(msgspec.Struct, frozen=True):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True, frozen=True):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str = ""
    errors: list[FieldError] = msgspec.field(default_factory=list)
    #: `/problems/already-checked-in` only: when the ticket was first checked in.
    checked_in_at: datetime | None = None


def problem_response(
    status: int,
    slug: str,
    detail: str = "",
    *,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    checked_in_at: datetime | None = None,
) -> Response[Problem]:
    return Response(
        Problem(
            type=f"/problems/{slug}",
            title=HTTPStatus(status).phrase,
            status=status,
            detail=detail,
            errors=errors or [],
            checked_in_at=checked_in_at,
        ),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


_DOMAIN_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (InvalidValue, 400),
    (InvalidCredentials, 400),
    (NotAuthenticated, 401),
    (NotAllowed, 403),
    (EmailUnverified, 403),
    (NotFound, 404),
    (PreconditionFailed, 412),
    (Conflict, 409),
    (TooManyAttempts, 429),
)


def domain_error_handler(_: Request[Any, Any, Any], exc: DomainError) -> Response[Problem]:
    status = next((code for kind, code in _DOMAIN_STATUS if isinstance(exc, kind)), 400)
    headers: dict[str, str] = {}
    errors: list[FieldError] = []
    if isinstance(exc, InvalidValue):
        errors = [FieldError(field=exc.field, message=exc.message)]
        slug = "invalid-input"
    elif isinstance(exc, NotFound):
        slug = "not-found"
    elif isinstance(exc, NotAuthenticated):
        slug = "unauthenticated"
        headers["WWW-Authenticate"] = 'Bearer realm="eventapi"'
    elif isinstance(exc, NotAllowed):
        slug = "forbidden"
    elif isinstance(exc, TooManyAttempts):
        slug = "rate-limited"
        headers["Retry-After"] = str(exc.retry_after)
        if exc.rate is not None:  # as the HTTP layer's policies report themselves
            name = f'"{exc.rate.name}"'  # policy names are plain words
            headers["RateLimit-Policy"] = f"{name};q={exc.rate.limit};w={exc.rate.period_seconds}"
            headers["RateLimit"] = f"{name};r=0;t={exc.retry_after}"
    else:
        slug = exc.code
    first_check_in = exc.checked_in_at if isinstance(exc, AlreadyCheckedIn) else None
    return problem_response(
        status,
        slug,
        exc.detail,
        errors=errors,
        headers=headers or None,
        checked_in_at=first_check_in,
    )


def validation_error_handler(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[Problem]:
    errors = [
        _field_error(item)
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]
    detail = "the request is not valid" if errors else _plain(exc.detail)
    return problem_response(400, "invalid-input", detail, errors=errors)


_SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "payload-too-large",
    415: "unsupported-media-type",
    429: "rate-limited",
}


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    if status >= 500:  # Litestar's own 500s (e.g. a dependency it cannot build): log them too
        return unexpected_error_handler(request, exc)
    headers = {
        k: v for k, v in (exc.headers or {}).items() if k.lower() in {"allow", "retry-after"}
    }
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="eventapi"'
    return problem_response(
        status, _SLUGS.get(status, "client-error"), _plain(exc.detail), headers=headers or None
    )


def unexpected_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    request_id = request.scope.get("state", {}).get("request_id", "-")
    log.error("unhandled error (request %s)", request_id, exc_info=exc)
    return problem_response(
        500, "server-error", f"something went wrong on our side (request {request_id})"
    )


#: Seconds a client is asked to wait when the database cannot be used (Retry-After).
STORAGE_RETRY_AFTER_SECONDS = 5


def storage_unavailable_handler(
    request: Request[Any, Any, Any], exc: StorageUnavailable
) -> Response[Problem]:
    """The database is down, dropped the connection or has no connection free: try
    again shortly. The reason is for the operator's log only."""
    request_id = request.scope.get("state", {}).get("request_id", "-")
    log.warning("storage unavailable (request %s): %s", request_id, exc.reason)
    return problem_response(
        503,
        "service-unavailable",
        "the service cannot reach its database right now; try again shortly",
        headers={"Retry-After": str(STORAGE_RETRY_AFTER_SECONDS)},
    )


def recursion_error_handler(
    request: Request[Any, Any, Any], exc: RecursionError
) -> Response[Problem]:
    """msgspec gives up on a body nested deeper than the interpreter's recursion
    limit (`[[[[...`) with a RecursionError: bad input, not a server fault."""
    if "deserializing" in str(exc):
        return problem_response(400, "bad-request", "the body is nested too deeply")
    return unexpected_error_handler(request, exc)


def _plain(detail: str) -> str:
    """Litestar's own details are safe sentences; keep them short all the same."""
    return detail[:300]


_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")


def _field_error(item: dict[str, Any]) -> FieldError:
    """msgspec says "Expected `int` <= 100 - at `$.location.latitude`"; clients want
    the field (`location.latitude`) and the reason apart."""
    message = str(item.get("message", "is not valid")).split("\n")[0][:300]
    field = str(item.get("key") or "body")
    if field == "data":  # Litestar's name for the whole body
        field = "body"
    if located := _AT_PATH.search(message):
        field, message = located.group(1) or field, message[: located.start()]
    prefix = "" if field == "body" else f"{field}."
    if unknown := _UNKNOWN.search(message):
        field, message = f"{prefix}{unknown.group(1)}", "is not a known field"
    elif missing := _MISSING.search(message):
        field, message = f"{prefix}{missing.group(1)}", "is required"
    return FieldError(field=field, message=message)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DomainError: domain_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    StorageUnavailable: storage_unavailable_handler,
    RecursionError: recursion_error_handler,
    Exception: unexpected_error_handler,
}
