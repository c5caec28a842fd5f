"""Redis as a readiness probe: reported, never essential."""

from __future__ import annotations

from adapters.redis_rate_limiter import RedisRateLimiter
from application.ports.health import HealthProbe


class RedisProbe(HealthProbe):
    """Redis answers a PING. Not essential: without it, rate limits are counted per
    process (see `RedisRateLimiter`), so the service is degraded, not down."""

    name = "redis"
    essential = False

    def __init__(self, limiter: RedisRateLimiter) -> None:
        self._limiter = limiter

    async def check(self) -> bool:
        return await self._limiter.ping()
