"""The API contract's rate-limit policies, as plain ASGI around the whole app.

Which policies a request counts against (each must allow it):

- every request: `anonymous` (per client address) or, with a valid access
  token, `user` (per user id, the token's `sub`, as the credentials step at
  the edge verified it: `entrypoints/http/credentials.py`; the database is
  not asked);
- POST /api/v1/auth/token: also `token`, per client address;
- POST /api/v1/auth/register: also `register`, per client address;
- POST /api/v1/events/{id}/registrations (joining) by a signed-in caller:
  also `join`, per user;
- GET /api/v1/users/me/export by a signed-in caller: also `export`, per user
  (it reads the caller's whole history).
- POST /api/v1/auth/password-reset: also `password-reset`, per client address
  (the per-account limit, `password-reset-account`, is counted by the use case,
  which knows the address asked for: `RequestPasswordReset`);
- POST /api/v1/auth/verify-email/resend by a signed-in caller: also
  `verify-email`, per user.

GET /calendar/{token}.ics (a calendar feed, outside /api/v1, fetched without
Authorization) is an anonymous request like any other: `anonymous`, per client
address; it is not exempt.

Health, metrics, the docs and the schema (`/schema...`) are never limited,
and nothing is when `EVENTAPI_RATE_LIMITS=off`. The limiter is passed in (the
container's: Redis, shared by every process, when configured).

The specific policy is counted before the general one and counting stops at
the first refusal, so a refused request is not counted by the policies after
it (the port has no "check several, then count all" operation; a request the
general policy refuses has still used one of the specific policy's hits).

Client address: the ASGI peer, unless the peer is one of
`EVENTAPI_TRUSTED_PROXIES`; then the right-most address in X-Forwarded-For
that is not a trusted proxy (everything left of it could have been sent by
the client itself).

Headers: every limited response (a 429 included) carries `RateLimit-Policy`
and `RateLimit` in the syntax of draft-ietf-httpapi-ratelimit-headers-11
(May 2026), sections 3 and 4: Structured Field lists whose items are the
policy name as a String with parameters `q` (quota) and `w` (window, seconds),
and `r` (available quota) and `t` (effective window, seconds), e.g.

    RateLimit-Policy: "user";q=600;w=60
    RateLimit: "user";r=599;t=60

When several policies apply, the headers report the most restrictive one
(the fewest requests left). A 429 is problem+json (`/problems/rate-limited`)
with `Retry-After`; its `t` equals Retry-After, as section 6 asks ("the
Retry-After field value SHOULD NOT reference a point in time earlier than the
end of the effective window").
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
from collections.abc import Iterable, MutableMapping
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from application.ports.rate_limiter import Rate, RateDecision, RateLimiter
from entrypoints.http.credentials import credentials_of
from entrypoints.http.problems import PROBLEM_JSON, Problem
from entrypoints.settings import RateLimitSettings, Settings

log = logging.getLogger("eventapi.rate_limits")

API = "/api/v1"
TOKEN_PATH = f"{API}/auth/token"
REGISTER_PATH = f"{API}/auth/register"
EXPORT_PATH = f"{API}/users/me/export"
PASSWORD_RESET_PATH = f"{API}/auth/password-reset"
VERIFY_RESEND_PATH = f"{API}/auth/verify-email/resend"
JOIN_PATH = re.compile(rf"^{API}/events/[^/]+/registrations$")
EXEMPT_EXACT = frozenset({"/metrics", "/health", "/schema"})
EXEMPT_PREFIXES = ("/health/", "/schema/")
EXPOSED = "Retry-After, RateLimit, RateLimit-Policy, X-Request-ID"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def rate_limits(app: ASGIApp, limiter: RateLimiter, settings: Settings) -> ASGIApp:
    """Wrap `app` in the contract's rate limits (or return it as is when they are off).

    It runs inside the credentials step, whose verdict it reads from the scope."""
    policies = settings.rate_limits
    if not policies.enabled:
        return app
    proxies = trusted_networks(settings.http.trusted_proxies)
    cors_origins = frozenset(settings.http.cors_origins)

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] == "OPTIONS":
            await app(scope, receive, send)  # CORS preflights are answered by the CORS layer
            return
        path = normal_path(scope["path"])
        if path in EXEMPT_EXACT or path.startswith(EXEMPT_PREFIXES):
            await app(scope, receive, send)
            return
        address = client_of(scope, proxies)
        claims = credentials_of(scope).claims
        user = None if claims is None else str(claims.user_id)
        checks = _applicable(scope["method"], path, address, user, policies)
        decisions: list[tuple[Rate, RateDecision]] = []
        for rate, key in checks:
            try:
                decision = await limiter.hit(key, rate)
            except Exception:  # a broken limiter must not take the API down with it
                log.exception("rate limiter failed; %s not applied to this request", rate.name)
                continue
            decisions.append((rate, decision))
            if not decision.allowed:
                await _refuse(send, rate, decision, header_values(scope, b"origin"), cors_origins)
                return
        if not decisions:
            await app(scope, receive, send)
            return
        reported = policy_headers(*most_restrictive(decisions))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                # A policy the application counted and refused by (a 429 from a use
                # case, e.g. per account) reports itself: it is the most restrictive.
                if not any(bytes(key).lower() == b"ratelimit-policy" for key, _ in headers):
                    message["headers"] = [*headers, *reported]
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def _applicable(
    method: str, path: str, address: str, user: str | None, policies: RateLimitSettings
) -> list[tuple[Rate, str]]:
    """(policy, key) pairs for this request, the specific policy first."""
    checks: list[tuple[Rate, str]] = []
    if method == "POST":
        if path == TOKEN_PATH:
            checks.append((policies.token, f"address:{address}"))
        elif path == REGISTER_PATH:
            checks.append((policies.register, f"address:{address}"))
        elif path == PASSWORD_RESET_PATH:
            checks.append((policies.password_reset, f"address:{address}"))
        elif user is not None and path == VERIFY_RESEND_PATH:
            checks.append((policies.verify_email, f"user:{user}"))
        elif user is not None and JOIN_PATH.match(path):
            checks.append((policies.join, f"user:{user}"))
    elif method in {"GET", "HEAD"} and path == EXPORT_PATH and user is not None:
        checks.append((policies.export, f"user:{user}"))
    if user is not None:
        checks.append((policies.user, f"user:{user}"))
    else:
        checks.append((policies.anonymous, f"address:{address}"))
    return checks


def most_restrictive(decisions: Iterable[tuple[Rate, RateDecision]]) -> tuple[Rate, RateDecision]:
    """The policy with the fewest requests left (then the longest wait for more)."""
    return min(decisions, key=lambda pair: (pair[1].remaining, -pair[1].reset_seconds))


def policy_headers(rate: Rate, decision: RateDecision) -> list[tuple[bytes, bytes]]:
    """`RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-11 §3, §4)."""
    window = decision.reset_seconds if decision.allowed else decision.retry_after
    name = _sf_string(rate.name)
    return [
        (b"ratelimit-policy", f"{name};q={rate.limit};w={rate.period_seconds}".encode()),
        (b"ratelimit", f"{name};r={max(0, decision.remaining)};t={max(0, window)}".encode()),
    ]


async def _refuse(
    send: Send,
    rate: Rate,
    decision: RateDecision,
    origins: list[str],
    cors_origins: frozenset[str],
) -> None:
    retry_after = max(1, decision.retry_after)
    body = msgspec.json.encode(
        Problem(
            type="/problems/rate-limited",
            title="Too Many Requests",
            status=429,
            detail=f"too many requests under the '{rate.name}' limit; retry in {retry_after} s",
        )
    )
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
        *policy_headers(rate, decision),
    ]
    # The CORS layer sits inside this one; a browser may only read the 429 if it is told so.
    origin = origins[0] if len(origins) == 1 else ""
    if origin and (origin in cors_origins or "*" in cors_origins):
        headers += [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-expose-headers", EXPOSED.encode()),
            (b"vary", b"Origin"),
        ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


# -- client address ---------------------------------------------------------------------


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


#: Where `client_of` keeps the address it found, in `scope["state"]`.
CLIENT_KEY = "eventapi.client"


def client_of(scope: Scope, proxies: tuple[Network, ...]) -> str:
    """The request's client address, found once and kept in the scope's state for
    every later layer (the rate limits key by it, the access log reports it)."""
    state: MutableMapping[str, Any] = scope.setdefault("state", {})
    found = state.get(CLIENT_KEY)
    if found is None:
        forwarded = header_values(scope, b"x-forwarded-for") if proxies else []
        found = state[CLIENT_KEY] = client_address(scope.get("client"), forwarded, proxies)
    return str(found)


def client_address(peer: Any, forwarded_for: list[str], proxies: tuple[Network, ...]) -> str:
    """The address a limit is keyed by (see the module docstring)."""
    peer_host = str(peer[0]) if isinstance(peer, list | tuple) and peer else ""
    if not proxies or not _is_trusted(peer_host, proxies):
        return _normal(peer_host)
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, proxies):
            return _normal(hop)
    # Every hop is one of our proxies: the left-most is the furthest one seen.
    return _normal(hops[0] if hops else peer_host)


def _is_trusted(host: str, proxies: tuple[Network, ...]) -> bool:
    address = _ip(host)
    return address is not None and any(address in network for network in proxies)


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address, also from "a.b.c.d:port" and "[v6]:port" (as some proxies write)."""
    candidates = [host]
    if host.startswith("[") and "]" in host:
        candidates.append(host[1 : host.index("]")])
    elif host.count(":") == 1:
        candidates.append(host.partition(":")[0])
    for candidate in candidates:
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            return address.ipv4_mapped
        return address
    return None


@functools.lru_cache(maxsize=4096)
def _normal(host: str) -> str:
    """The canonical spelling of an address (or the host, cut short, if it is none).
    Cached: the same few peers ask on every request, and parsing costs microseconds."""
    address = _ip(host)
    if address is not None:
        return str(address)
    return host[:100] or "unknown"


# -- plumbing ---------------------------------------------------------------------------


def normal_path(path: str) -> str:
    """The path as the router will see it: no repeated or trailing slashes."""
    if "//" not in path and (len(path) == 1 or not path.endswith("/")):
        return path  # the usual case, without a regex
    path = re.sub(r"/{2,}", "/", path)
    return path.rstrip("/") or "/"


def header_values(scope: Scope, name: bytes) -> list[str]:
    """Every value of the header `name` (lower case), in order; no other header is
    decoded."""
    return [
        value.decode("latin-1") for key, value in scope.get("headers", []) if key.lower() == name
    ]


def _sf_string(value: str) -> str:
    """A Structured Field String (RFC 9651 §3.3.3): quoted, `\\` and `"` escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
