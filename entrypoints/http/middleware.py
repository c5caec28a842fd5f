"""Per-request plumbing as plain ASGI: request ids and security headers.

It wraps the whole app, so 404s, 405s and errors raised before routing get
the same headers as everything else.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import MutableMapping
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID = "x-request-id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def request_context(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        given = ""
        signed_in = False
        for raw_name, value in scope.get("headers", ()):
            name = raw_name.lower()
            if name == b"x-request-id":
                given = value.decode("latin-1")
            elif name == b"authorization":
                signed_in = True
        request_id = given if _SANE_ID.match(given) else secrets.token_hex(16)
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        docs = scope["path"].startswith("/schema") and not scope["path"].endswith(".json")
        extra = (_DOCS_HEADERS if docs else _API_HEADERS) + (_NO_STORE if signed_in else ())
        own_id = (b"x-request-id", request_id.encode())

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = list(message.get("headers", ()))
                present = {name.lower() for name, _ in out}
                if b"x-request-id" not in present:
                    out.append(own_id)
                out += [header for header in extra if header[0] not in present]
                message["headers"] = out
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def _security_headers(csp: str) -> tuple[tuple[bytes, bytes], ...]:
    return (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", csp.encode()),
        (b"cross-origin-opener-policy", b"same-origin"),
    )


#: Built once: every response adds these unless it set its own.
_API_HEADERS = _security_headers(API_CSP)
_DOCS_HEADERS = _security_headers(DOCS_CSP)
_NO_STORE = ((b"cache-control", b"no-store"),)
