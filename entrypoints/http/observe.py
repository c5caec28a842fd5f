"""One log record and one set of metric samples per request, as plain ASGI.

The record (logger `eventapi.access`, INFO) replaces uvicorn's access log and
carries `request_id`, `method`, `route` (the matched route template, null when
nothing matched), `path` (without the query string), `status`, `duration_ms`,
`client` (the address rate limits key by) and, for a signed-in caller,
`user_id`. Never a header, a query string or a body: tokens, passwords and
cookies travel in those. The path of a calendar feed is a secret too: it is
logged as `/calendar/{token}.ics` (`logged_path`), and the metrics label every
request by its route template, never by its path.

The signed-in user is whatever the authentication step left in the request's
scope state under `USER_ID` (a string); this layer reads it after the response,
so it does not matter how deep inside that step runs.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import MutableMapping
from typing import Any

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from litestar.utils.path import normalize_path

from entrypoints.http.metrics import UNMATCHED, count_refusal, observe_request
from entrypoints.http.rate_limits import client_of, normal_path, trusted_networks

log = logging.getLogger("eventapi.access")

#: The key of the signed-in user's id in `scope["state"]`.
USER_ID = "user_id"
#: Refusals that carry no RateLimit header come from the per-account password checks.
PASSWORD_CHECKS = "password-checks"  # noqa: S105 - a policy name
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_POLICY = re.compile(r'^\s*"([^"]{1,64})"')
#: Scrapes are not requests worth counting (they would only count themselves).
UNCOUNTED = frozenset({"/metrics"})


def observe(
    app: ASGIApp, litestar: Litestar, *, trusted_proxies: tuple[str, ...], metrics: bool
) -> ASGIApp:
    proxies = trusted_networks(trusted_proxies)

    def route_of(scope: HTTPScope) -> str:
        """The route template; found again for requests answered before routing
        (a 429 of the rate limits, a CORS preflight)."""
        template = scope.get("path_template")
        if template:
            return str(template)
        try:
            found = litestar.asgi_router.handle_routing(
                path=normalize_path(scope["path"]), method=scope["method"]
            )
        except Exception:  # no such route, or not for this method
            return UNMATCHED
        return str(found[4]) or UNMATCHED

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        response: dict[str, Any] = {"status": 500, "policy": None, "done": False}

        def finish() -> None:
            response["done"] = True
            seconds = time.perf_counter() - started
            status: int = response["status"]
            route = route_of(scope)
            if metrics and scope["path"] not in UNCOUNTED:
                observe_request(scope["method"], route, status, seconds)
                if status == 429:
                    count_refusal(_policy(response["policy"]))
            _log(scope, route, status, seconds, proxies)

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"ratelimit":
                        response["policy"] = value.decode("latin-1")
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Before the last byte leaves: a client that has its answer finds it
                # counted by the next scrape.
                finish()
            await send(message)

        try:
            await app(scope, receive, watch)
        finally:
            if not response["done"]:  # no complete response: an error, or a disconnect
                finish()

    return middleware


def _policy(header: str | None) -> str:
    match = _POLICY.match(header or "")
    return match.group(1) if match else PASSWORD_CHECKS


def _log(scope: HTTPScope, route: str, status: int, seconds: float, proxies: Any) -> None:
    state: MutableMapping[str, Any] = scope.get("state") or {}
    fields: dict[str, Any] = {
        "request_id": state.get("request_id"),
        "method": scope["method"],
        "route": None if route == UNMATCHED else route,
        "path": logged_path(scope["path"]),
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "client": client_of(scope, proxies),
    }
    if (user_id := state.get(USER_ID)) is not None:
        fields["user_id"] = str(user_id)
    log.info("%s %s %s", scope["method"], fields["path"], status, extra=fields)


#: Paths that carry a secret (a calendar feed's token), and what is logged instead.
SECRET_PATHS = (("/calendar/", "/calendar/{token}.ics"),)


def logged_path(path: str) -> str:
    """The path as the log may show it: a secret one as its template, and control
    characters escaped."""
    normal = normal_path(path)
    for prefix, template in SECRET_PATHS:
        if normal.startswith(prefix):
            return template
    return _printable(path)


def _printable(path: str) -> str:
    """Control characters escaped, so a path cannot forge a line of a text log."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", path)
