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
        headers = _headers(scope)
        given = headers.get(REQUEST_ID, "")
        request_id = given if _SANE_ID.match(given) else secrets.token_hex(16)
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        docs = scope["path"].startswith("/schema") and not scope["path"].endswith(".json")
        signed_in = "authorization" in headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = list(message.get("headers", []))
                present = {name.lower() for name, _ in out}
                extra = {
                    b"x-request-id": request_id.encode(),
                    b"x-content-type-options": b"nosniff",
                    b"x-frame-options": b"DENY",
                    b"referrer-policy": b"no-referrer",
                    b"content-security-policy": (DOCS_CSP if docs else API_CSP).encode(),
                    b"cross-origin-opener-policy": b"same-origin",
                }
                if signed_in:
                    extra[b"cache-control"] = b"no-store"
                out += [(k, v) for k, v in extra.items() if k not in present]
                message["headers"] = out
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def _headers(scope: Scope) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }
