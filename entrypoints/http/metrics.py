"""`GET /metrics` in Prometheus text format (EVENTAPI_METRICS=off removes it).

Request counts and latencies per route template (not per raw path, so ids do
not explode the label space). Each server process keeps its own counters;
scrape every process, or run one worker per container.
"""

from __future__ import annotations

from typing import Any

from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import ControllerRouterHandler


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False


def metrics(enabled: bool) -> tuple[list[ControllerRouterHandler], list[Any]]:
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
    return [MetricsController], [config.middleware]
