"""The security suite's fixtures: the e2e suite's running app (`api`, over SQLite
and PostgreSQL, every real adapter), and a way to send requests truly at once.

The e2e test client hands each request to the app's loop and waits for it, so
`asyncio.gather` over it sends one request after another. `concurrently` runs
an httpx client over ASGI on the app's own loop instead, where the requests
interleave at every await, as they would in a server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from tests.e2e.conftest import (  # noqa: F401 - fixtures, found by pytest by name
    BASE_URL,
    Api,
    api,
    database,
    settings_overrides,
)

Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


def concurrently(service: Api, requests: Sequence[Send]) -> list[httpx.Response]:
    """Send every request at once, through the app on its own loop."""
    app: Any = service.app  # an ASGI app; httpx's annotation is narrower than Litestar's

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            return list(await asyncio.gather(*(send(client) for send in requests)))

    return service.run(send_all)
