"""`/metrics` speaks Prometheus text, counts by route template, and can be switched off."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from litestar.testing import AsyncTestClient

from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings


def settings(tmp_path: Path, *, metrics: bool) -> Settings:
    return Settings(
        environment="test",
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'metrics.db'}",
        secret_key=b"m" * 48,
        bcrypt_rounds=4,
        rate_limits=False,
        metrics=metrics,
    )


def count(text: str, method: str, path: str, status: int) -> float:
    """One counter of the Prometheus text (0 if absent). The registry is process-wide,
    so tests compare before and after rather than absolute values."""
    labels = f'method="{method}",path="{path}",status_code="{status}"'
    for line in text.splitlines():
        if line.startswith("eventapi_requests_total{") and labels in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_requests_by_route_template(tmp_path: Path) -> None:
    app = create_app(build_container(settings(tmp_path, metrics=True)))
    template = "/api/v1/events/{event_id}"
    async with AsyncTestClient(app) as client:
        before = (await client.get("/metrics")).text
        for _ in range(3):
            await client.get("/api/v1/events/0191d3c6-0000-7000-8000-000000000000")
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert count(response.text, "GET", template, 404) - count(before, "GET", template, 404) == 3
    assert "0191d3c6" not in response.text  # ids never become labels


async def test_metrics_can_be_switched_off(tmp_path: Path) -> None:
    app = create_app(build_container(replace(settings(tmp_path, metrics=False))))
    async with AsyncTestClient(app) as client:
        response = await client.get("/metrics")
    assert response.status_code == 404
