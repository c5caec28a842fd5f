"""Liveness and readiness, outside `/api/v1` and never rate limited."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from msgspec import Struct

from application.use_cases.check_readiness import CheckReadiness


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
    async def ready(self, check_readiness: NamedDependency[CheckReadiness]) -> Response[Health]:
        readiness = await check_readiness.execute()
        return Response(
            Health(status="ok" if readiness.ready else "unavailable", checks=readiness.checks),
            status_code=200 if readiness.ready else 503,
        )
