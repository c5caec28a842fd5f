"""`/metrics` speaks Prometheus text: requests by route template and status, rate-limit
refusals by policy, the database pool, the outbox's backlog; and it can be switched off.

One process here (the test client); tests/integration/test_metrics_multiprocess.py
runs `eventapi serve --workers 2` and checks that every scrape adds all processes up.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.memory.fakes import FixedClock
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings

LABEL = re.compile(r'(\w+)="([^"]*)"')
PASSWORD = "plenty of words for a passphrase"


def settings(tmp_path: Path, **variables: str) -> Settings:
    return Settings.from_environment(
        {
            "EVENTAPI_ENV": "test",
            "EVENTAPI_DATA_DIR": str(tmp_path),
            "EVENTAPI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'metrics.db'}",
            "EVENTAPI_SECRET_KEY": "m" * 48,
            "EVENTAPI_BCRYPT_ROUNDS": "4",
            "EVENTAPI_RATE_LIMITS": "off",
            "EVENTAPI_INPROCESS_WORKER": "off",
            **variables,
        }
    )


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text (0 if absent). The registry is
    process-wide, so tests compare before and after rather than absolute values."""
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        found, _, label_text = series.partition("{")
        if found == name and dict(LABEL.findall(label_text)) == labels:
            return float(value)
    return 0.0


async def test_metrics_count_requests_and_latency_by_route_template_and_status(
    tmp_path: Path,
) -> None:
    app = create_app(build_container(settings(tmp_path)))
    template = "/api/v1/events/{event_id}"
    labels = {"method": "GET", "route": template, "status": "404"}
    async with AsyncTestClient(app) as client:
        before = (await client.get("/metrics")).text
        for _ in range(3):
            await client.get("/api/v1/events/0191d3c6-0000-7000-8000-000000000000")
        await client.get("/no/such/route")
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text

    def delta(name: str, **wanted: str) -> float:
        return sample(text, name, **wanted) - sample(before, name, **wanted)

    assert delta("eventapi_http_requests_total", **labels) == 3
    assert delta("eventapi_http_request_duration_seconds_count", **labels) == 3
    assert delta("eventapi_http_request_duration_seconds_bucket", **labels, le="+Inf") == 3
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert delta("eventapi_http_requests_total", **unmatched) == 1
    assert "0191d3c6" not in text  # ids never become labels
    assert "/no/such/route" not in text  # nor do unknown paths
    assert 'route="/metrics"' not in text  # scrapes do not count themselves


async def test_rate_limit_refusals_are_counted_by_policy_and_route(tmp_path: Path) -> None:
    app = create_app(
        build_container(
            settings(
                tmp_path,
                EVENTAPI_RATE_LIMITS="on",
                EVENTAPI_RATE_LIMIT_ANONYMOUS="2",
                EVENTAPI_RATE_LIMIT_TOKEN="1",
            )
        )
    )
    refused = {"method": "GET", "route": "/api/v1/events", "status": "429"}
    async with AsyncTestClient(app) as client:
        before = (await client.get("/metrics")).text
        statuses = [(await client.get("/api/v1/events")).status_code for _ in range(3)]
        form = {"grant_type": "password", "username": "a@example.org", "password": "x" * 12}
        await client.post("/api/v1/auth/token", data=form, headers={"X-Forwarded-For": "1"})
        text = (await client.get("/metrics")).text

    def delta(name: str, **wanted: str) -> float:
        return sample(text, name, **wanted) - sample(before, name, **wanted)

    assert statuses == [200, 200, 429]
    # The third GET and the sign-in (the anonymous policy is spent by then) were refused.
    assert delta("eventapi_rate_limit_refusals_total", policy="anonymous") == 2
    # Refused before routing, still counted under the route's template.
    assert delta("eventapi_http_requests_total", **refused) == 1


async def test_the_outbox_backlog_is_read_at_scrape_time(tmp_path: Path) -> None:
    container = build_container(settings(tmp_path))
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    container.clock.override(clock)
    app = create_app(container)
    async with AsyncTestClient(app) as client:
        empty = (await client.get("/metrics")).text
        for number in (1, 2):  # each account is welcomed by mail, through the outbox
            registered = await client.post(
                "/api/v1/auth/register",
                json={"email": f"u{number}@example.org", "password": PASSWORD, "full_name": "U"},
            )
            assert registered.status_code == 201, registered.text
            clock.advance(timedelta(seconds=30))
        clock.advance(timedelta(seconds=60))
        text = (await client.get("/metrics")).text

    assert sample(empty, "eventapi_outbox_pending") == 0
    assert sample(empty, "eventapi_outbox_oldest_pending_age_seconds") == 0
    assert sample(text, "eventapi_outbox_pending") == 2
    assert sample(text, "eventapi_outbox_oldest_pending_age_seconds") == 120
    assert sample(text, "eventapi_outbox_dead_letters") == 0
    assert sample(text, "eventapi_outbox_scheduled") == 0


async def test_the_pool_gauge_counts_connections_in_use(tmp_path: Path) -> None:
    container = build_container(settings(tmp_path))
    app = create_app(container)
    async with AsyncTestClient(app) as client:
        await client.get("/health/ready")  # the pool has connected once
        engine = container.engine()

        async def check_out() -> AsyncConnection:
            return await engine.connect().start()

        held = client.blocking_portal.call(check_out)  # on the app's loop, which owns the pool
        try:
            busy = (await client.get("/metrics")).text
        finally:
            client.blocking_portal.call(held.close)
        idle = (await client.get("/metrics")).text

    assert sample(busy, "eventapi_db_pool_in_use") == 1
    assert sample(idle, "eventapi_db_pool_in_use") == 0
    assert sample(idle, "eventapi_db_pool_overflow") == 0


async def test_metrics_can_be_switched_off(tmp_path: Path) -> None:
    app = create_app(build_container(settings(tmp_path, EVENTAPI_METRICS="off")))
    async with AsyncTestClient(app) as client:
        response = await client.get("/metrics")
    assert response.status_code == 404
