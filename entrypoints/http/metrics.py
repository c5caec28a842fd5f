"""`GET /metrics` in Prometheus text format: on by default, but opt-in in production
(EVENTAPI_METRICS), and behind a bearer token when EVENTAPI_METRICS_TOKEN is set.

Request counts and latencies per route template (not per raw path, so ids do
not explode the label space). Each server process keeps its own counters;
scrape every process, or run one worker per container.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import ControllerRouterHandler, Guard


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False


def bearer_token_guard(token: str) -> Guard:
    """401 unless the request carries `Authorization: Bearer <token>` (compared in
    constant time)."""
    expected = f"Bearer {token}".encode()

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        sent = connection.headers.get("authorization", "").encode()
        if not hmac.compare_digest(sent, expected):
            raise NotAuthorizedException("GET /metrics needs its bearer token")

    return guard


def metrics(
    enabled: bool, token: str | None = None
) -> tuple[list[ControllerRouterHandler], list[Any]]:
    """The route and the middleware to add, or nothing when metrics are off."""
    if not enabled:
        return [], []
    config = PrometheusConfig(
        app_name="eventapi",
        prefix="eventapi",
        group_path=True,
        exclude_unhandled_paths=True,
        exclude=["/metrics", "/schema"],
    )
    if token is None:
        return [MetricsController], [config.middleware]
    guarded = type(
        "GuardedMetricsController", (MetricsController,), {"guards": [bearer_token_guard(token)]}
    )
    return [guarded], [config.middleware]
