"""`eventapi serve`: migrate, then run the HTTP service under uvicorn."""

from __future__ import annotations

import asyncio
import logging
import logging.config
import os
import shutil
import socket
import sys
import tempfile
from typing import TextIO

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from entrypoints.commands.database import migrate
from entrypoints.commands.preflight import (
    check_database,
    check_mail,
    check_port_free,
    check_redis,
)
from entrypoints.container import build_container, close_resources
from entrypoints.logs import logging_config, resolve_format
from entrypoints.settings import Settings

#: uvicorn builds one app per worker process from this factory (`create_app()`
#: reads the same environment this process was given).
APP_FACTORY = "entrypoints.http.app:create_app"
#: How long in-flight requests get to finish after SIGTERM or Ctrl-C.
GRACEFUL_SHUTDOWN_SECONDS = 10
#: How long a worker process may take to answer uvicorn's health pings (see `serve`).
WORKER_START_SECONDS = 60
log = logging.getLogger("eventapi.serve")
#: prometheus_client's multiprocess mode: where each server process writes its samples.
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
#: Set to 0 for the worker processes when several share no Redis (see `serve`).
READ_CACHE_TTL_VARIABLE = "EVENTAPI_READ_CACHE_TTL"
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
    log_format = resolve_format(settings.log_format)
    logs = logging_config(log_format)
    if log_format == "json":  # a log collector reads JSON lines only: the banner is one
        logging.config.dictConfig(logs)
        docs = f"{base}/schema/swagger"
        log.info(
            "eventapi on %s (%s workers); API docs: %s",
            base,
            workers,
            docs,
            extra={"event": "serve.start", "url": base, "docs": docs, "workers": workers},
        )
    else:
        print(
            f"eventapi on {base} ({workers} worker{'s' if workers > 1 else ''})\n"
            f"  API docs: {base}/schema/swagger  (also /schema/redoc, /schema/scalar)\n"
            "  stop with Ctrl-C",
            file=out,
            flush=True,
        )
    # Several processes add their metrics up through files in a directory of this run's
    # own, made before they start (they inherit it) and removed once they have stopped.
    metrics_dir = tempfile.mkdtemp(prefix="eventapi-metrics-") if workers > 1 else None
    if metrics_dir is not None:
        os.environ[METRICS_DIR_VARIABLE] = metrics_dir
    # An in-process read cache would not see the other processes' writes: off, unless
    # Redis shares one cache (and its invalidations) between them all.
    read_cache_off = workers > 1 and settings.read_cache_backend == "memory"
    configured_ttl = os.environ.get(READ_CACHE_TTL_VARIABLE)
    if read_cache_off:
        os.environ[READ_CACHE_TTL_VARIABLE] = "0"
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            lifespan="on",
            # HTTP/1.1 parsed by httptools (llhttp, C) on uvloop, Nagle off on every
            # connection: see docs/adr/0007-tcp-nodelay-uvloop-httptools.md.
            http=NODELAY_PROTOCOL,
            loop="uvloop",
            # The app itself decides who the client is (the peer, or X-Forwarded-For from
            # EVENTAPI_TRUSTED_PROXIES only), so uvicorn must pass the peer on untouched;
            # its default would trust the header from any local process.
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            # A new worker process answers uvicorn's health pings only once it has
            # imported the app; on a busy machine that takes longer than uvicorn's
            # 5 s, and it would kill and restart every worker, forever.
            timeout_worker_healthcheck=WORKER_START_SECONDS,
            # Every process logs as EVENTAPI_LOG_FORMAT says; the app logs each request
            # itself (entrypoints/http/observe.py), so uvicorn's access log is off.
            log_config=logs,
            access_log=False,
        )
    finally:
        if read_cache_off:
            os.environ.pop(READ_CACHE_TTL_VARIABLE, None)
            if configured_ttl is not None:
                os.environ[READ_CACHE_TTL_VARIABLE] = configured_ttl
        if metrics_dir is not None:
            os.environ.pop(METRICS_DIR_VARIABLE, None)
            shutil.rmtree(metrics_dir, ignore_errors=True)


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with Nagle's algorithm off on each connection.

    asyncio sets TCP_NODELAY only on sockets it sees made with `IPPROTO_TCP`, and the
    listening socket uvicorn shares between `--workers` is made with protocol 0: its
    connections kept Nagle on, and each keep-alive response waited ~40 ms for the
    client's delayed ACK (Kludex/uvicorn#3149). uvloop happens to set the option
    itself; this does not rely on it (docs/adr/0007-tcp-nodelay-uvloop-httptools.md)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    """TCP_NODELAY on the socket under `transport`, if it is a TCP one."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


#: Each worker process imports it by this name (uvicorn takes a dotted path).
NODELAY_PROTOCOL = f"{__name__}:{NoDelayHttpToolsProtocol.__name__}"


async def _migrate(settings: Settings) -> None:
    container = build_container(settings)
    try:
        await check_database(container)
        await migrate(container)
    finally:
        await close_resources(container)
