"""`/metrics` is not public in production by default.

It was on for every deployment, readable by anyone: request counts and
latencies by route, a map of the API's use. In production it is opt-in now
(EVENTAPI_METRICS=on), and EVENTAPI_METRICS_TOKEN puts it behind a bearer token
in any environment.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings

TOKEN = "scrape-me-0123456789abcdef"


def environment(tmp_path: Path, **variables: str) -> dict[str, str]:
    return {
        "EVENTAPI_DATA_DIR": str(tmp_path),
        "EVENTAPI_DATABASE_URL": f"sqlite:///{tmp_path / 'metrics.db'}",
        "EVENTAPI_SECRET_KEY": "s" * 48,
        "EVENTAPI_BCRYPT_ROUNDS": "4",
        "EVENTAPI_RATE_LIMITS": "off",
        "EVENTAPI_INPROCESS_WORKER": "off",
        **variables,
    }


async def metrics_status(settings: Settings, headers: dict[str, str] | None = None) -> int:
    app = create_app(build_container(settings))
    async with AsyncTestClient(app) as client:
        response = await client.get("/metrics", headers=headers or {})
    return response.status_code


async def test_production_serves_no_metrics_unless_asked(tmp_path: Path) -> None:
    production = Settings.from_environment(environment(tmp_path, EVENTAPI_ENV="production"))
    assert production.http.metrics is False
    assert await metrics_status(production) == 404

    opted_in = Settings.from_environment(
        environment(tmp_path, EVENTAPI_ENV="production", EVENTAPI_METRICS="on")
    )
    assert await metrics_status(opted_in) == 200


@pytest.mark.parametrize("env", ["development", "test"])
def test_metrics_stay_on_by_default_elsewhere(tmp_path: Path, env: str) -> None:
    assert Settings.from_environment(environment(tmp_path, EVENTAPI_ENV=env)).http.metrics is True


async def test_a_metrics_token_is_required_once_configured(tmp_path: Path) -> None:
    settings = Settings.from_environment(
        environment(
            tmp_path, EVENTAPI_ENV="production", EVENTAPI_METRICS="on", EVENTAPI_METRICS_TOKEN=TOKEN
        )
    )
    assert settings.http.metrics_token == TOKEN
    for headers in (
        None,
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ):
        assert await metrics_status(settings, headers) == 401, headers
    assert await metrics_status(settings, {"Authorization": f"Bearer {TOKEN}"}) == 200
