"""`eventapi serve`: migrate, then run the HTTP service under uvicorn."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

import uvicorn

from entrypoints.commands.database import migrate
from entrypoints.commands.preflight import (
    check_database,
    check_mail,
    check_port_free,
    check_redis,
)
from entrypoints.container import build_container, close_resources
from entrypoints.settings import Settings

#: uvicorn builds one app per worker process from this factory (`create_app()`
#: reads the same environment this process was given).
APP_FACTORY = "entrypoints.http.app:create_app"
#: How long in-flight requests get to finish after SIGTERM or Ctrl-C.
GRACEFUL_SHUTDOWN_SECONDS = 10
#: Wildcard addresses, only to print a reachable URL instead; nothing binds to them here.
_ANY_ADDRESS = {"0.0.0.0", "::", ""}  # noqa: S104  # nosec B104


def serve(
    settings: Settings, *, host: str, port: int, workers: int, out: TextIO = sys.stdout
) -> None:
    """Blocks until the server stops (SIGINT/SIGTERM: in-flight requests finish first).

    Before anything is migrated or started: the Redis URL, the SMTP URL when this
    process delivers mail itself, then the port, then the database."""
    check_redis(settings)
    if settings.runs_inprocess_worker:
        check_mail(settings)
    check_port_free(host, port)
    asyncio.run(_migrate(settings))
    shown = "127.0.0.1" if host in _ANY_ADDRESS else f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"
    print(
        f"eventapi on {base} ({workers} worker{'s' if workers > 1 else ''})\n"
        f"  API docs: {base}/schema/swagger  (also /schema/redoc, /schema/scalar)\n"
        "  stop with Ctrl-C",
        file=out,
        flush=True,
    )
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        lifespan="on",
        # The app itself decides who the client is (the peer, or X-Forwarded-For from
        # EVENTAPI_TRUSTED_PROXIES only), so uvicorn must pass the peer on untouched;
        # its default would trust the header from any local process.
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


async def _migrate(settings: Settings) -> None:
    container = build_container(settings)
    try:
        await check_database(container)
        await migrate(container)
    finally:
        await close_resources(container)
