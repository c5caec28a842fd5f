"""Liveness and readiness, outside `/api/v1` and never rate limited."""

from __future__ import annotations

import asyncio

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from msgspec import Struct
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.redis_rate_limiter import RedisRateLimiter

PROBE_SECONDS = 2.0


class Health(Struct, frozen=True):
    status: str
    checks: dict[str, str]


class HealthController(Controller):
    path = "/health"
    tags = ["operations"]
    include_in_schema = True

    @get("/live", summary="The process is up")
    async def live(self) -> Health:
        return Health(status="ok", checks={})

    @get(
        "/ready",
        summary="The database answers (other services are reported, not required)",
        responses={
            503: ResponseSpec(
                Health,
                description="The database does not answer; `checks` says what failed.",
                generate_examples=False,
            )
        },
    )
    async def ready(
        self,
        engine: NamedDependency[AsyncEngine],
        limiter: NamedDependency[object],  # a RateLimiter; Litestar cannot check a Protocol
    ) -> Response[Health]:
        database = await _probe(engine)
        checks = {"database": database}
        if isinstance(limiter, RedisRateLimiter):  # reported, never fatal: limits fall back
            checks["redis"] = "ok" if await limiter.ping() else "degraded"
        status = 200 if database == "ok" else 503
        return Response(
            Health(status="ok" if status == 200 else "unavailable", checks=checks),
            status_code=status,
        )


async def _probe(engine: AsyncEngine) -> str:
    try:
        async with asyncio.timeout(PROBE_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:  # any failure means "not ready"; the reason goes to the logs, not out
        return "unavailable"
    return "ok"
