"""`GET /metrics` in Prometheus text format: on by default, but opt-in in production
(EVENTAPI_METRICS), and behind a bearer token when EVENTAPI_METRICS_TOKEN is set.

One scrape reports the whole server, whichever process answers it: under
`eventapi serve --workers N` every process writes its samples to files in
PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode; `serve` makes
a fresh directory before the processes start and removes it after), and the
process that answers adds them all up. A single process keeps them in memory.

- requests and their latency, by method, route template (never the raw path,
  so ids do not explode the label space) and status (`observe_request`,
  called by entrypoints/http/observe.py for every request but the scrapes);
- rate-limit refusals by policy;
- database connections in use and beyond the pool's size, summed over the
  live processes;
- the outbox's backlog (pending rows, the oldest one's age, dead letters),
  read from the table at scrape time, so it is right whoever delivers.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from litestar import Controller, Response, get
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.types import ControllerRouterHandler, Guard
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.outbox import OutboxBacklog, SqlOutboxReader
from application.ports.system import Clock

log = logging.getLogger("eventapi.metrics")

#: Routes that matched nothing share one label value.
UNMATCHED = "unmatched"
#: Latency buckets (seconds): a few ms for lookups to seconds for bcrypt and SMTP.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "eventapi_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "eventapi_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
RATE_LIMIT_REFUSALS = Counter(
    "eventapi_rate_limit_refusals",
    "Requests refused with 429, by rate-limit policy.",
    ["policy"],
)
POOL_IN_USE = Gauge(
    "eventapi_db_pool_in_use",
    "Database connections checked out of the pools, summed over the live processes.",
    multiprocess_mode="livesum",
)
POOL_OVERFLOW = Gauge(
    "eventapi_db_pool_overflow",
    "Connections open beyond the pools' size (max_overflow), summed over the live processes.",
    multiprocess_mode="livesum",
)


def multiprocess_mode() -> bool:
    """Whether this process writes its samples to PROMETHEUS_MULTIPROC_DIR (decided by
    prometheus_client when it was imported)."""
    return values.ValueClass is not values.MutexValue


#: The samples of each (method, route, status) seen, so a request does not look its
#: labels up again (`labels()` takes a lock and checks every value each time).
#: Bounded: routes are templates, methods and statuses few.
_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    children = _CHILDREN.get((method, route, status))
    if children is None:
        labels = (method, route, str(status))
        children = (REQUESTS.labels(*labels), LATENCY.labels(*labels))
        if len(_CHILDREN) < 10_000:
            _CHILDREN[(method, route, status)] = children
    children[0].inc()
    children[1].observe(seconds)


def count_refusal(policy: str) -> None:
    RATE_LIMIT_REFUSALS.labels(policy).inc()


def watch_pool(engine: AsyncEngine) -> None:
    """Keep the pool gauges current as connections are checked out and in. (The
    pool's own `checkedout()` still counts a connection while its check-in is
    being announced, so the count is kept here.) Overflow connections are the
    ones in use beyond the pool's size; QueuePool closes them when they return."""
    pool = engine.sync_engine.pool
    size_of = getattr(pool, "size", None)
    if size_of is None:
        return  # a pool without a size (SQLite in memory, NullPool): nothing to report
    size: int = size_of()
    in_use = 0

    def report() -> None:
        POOL_IN_USE.set(in_use)
        POOL_OVERFLOW.set(max(0, in_use - size))

    def checked_out(*_: Any) -> None:
        nonlocal in_use
        in_use += 1
        report()

    def checked_in(*_: Any) -> None:
        nonlocal in_use
        in_use = max(0, in_use - 1)
        report()

    event.listen(pool, "checkout", checked_out)
    event.listen(pool, "checkin", checked_in)
    report()


def forget_process() -> None:
    """A stopping process's live gauges leave the sums (its counters stay counted)."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


class _Backlog(Collector):
    def __init__(self, backlog: OutboxBacklog, now: datetime) -> None:
        self._backlog = backlog
        self._now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        backlog = self._backlog
        oldest = backlog.oldest_pending_at
        age = max(0.0, (self._now - oldest).total_seconds()) if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "eventapi_outbox_pending", "Notifications waiting to be delivered.", backlog.pending
        )
        yield GaugeMetricFamily(
            "eventapi_outbox_oldest_pending_age_seconds",
            "Age of the oldest notification waiting to be delivered (0 when none is).",
            age,
        )
        yield GaugeMetricFamily(
            "eventapi_outbox_dead_letters",
            "Notifications given up on, waiting for an operator (eventapi outbox --failed).",
            backlog.failed,
        )
        yield GaugeMetricFamily(
            "eventapi_outbox_scheduled",
            "Notifications not due yet (reminders): planned, not waiting.",
            backlog.scheduled,
        )


async def exposition(engine: AsyncEngine, clock: Clock) -> bytes:
    """Every process's samples, then the outbox's backlog as of now."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    try:
        now = clock.now()
        backlog = await SqlOutboxReader(engine).backlog(now)
    except Exception:  # the database is down: report the rest
        log.warning("metrics: the outbox could not be read", exc_info=True)
        return text
    extra = CollectorRegistry()
    extra.register(_Backlog(backlog, now))
    return text + generate_latest(extra)


class MetricsController(Controller):
    path = "/metrics"
    include_in_schema = False

    @get("/")
    async def scrape(
        self,
        engine: NamedDependency[AsyncEngine],
        clock: NamedDependency[Any],  # a Clock; Litestar cannot check a Protocol
    ) -> Response[bytes]:
        return Response(await exposition(engine, clock), media_type=CONTENT_TYPE_LATEST)


def bearer_token_guard(token: str) -> Guard:
    """401 unless the request carries `Authorization: Bearer <token>` (compared in
    constant time)."""
    expected = f"Bearer {token}".encode()

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        sent = connection.headers.get("authorization", "").encode()
        if not hmac.compare_digest(sent, expected):
            raise NotAuthorizedException("GET /metrics needs its bearer token")

    return guard


def metrics(enabled: bool, token: str | None = None) -> list[ControllerRouterHandler]:
    """The route to add, or nothing when metrics are off; guarded when a token is set."""
    if not enabled:
        return []
    if token is None:
        return [MetricsController]
    guarded = type(
        "GuardedMetricsController", (MetricsController,), {"guards": [bearer_token_guard(token)]}
    )
    return [guarded]
