"""Container providers as Litestar dependencies, and the caller as one too.

Litestar owns request-scoped values (the principal, the body, the query); the
container owns the object graph. Handlers name what they need with
`NamedDependency[...]`; this module makes each use-case provider available
under its container name (e.g. `register_for_event`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dependency_injector import providers
from litestar import Request
from litestar.di import NamedDependency, Provide

from application.errors import NotAuthenticated
from application.principal import Principal
from application.use_cases.identify_caller import IdentifyCaller
from entrypoints.container import Container
from entrypoints.http.credentials import credentials_of
from entrypoints.http.idempotency import principal_of
from entrypoints.http.observe import USER_ID


def container_dependencies(container: Container) -> dict[str, Provide]:
    """Every use case (Factory provider), the cursor codec and the clock, by name."""
    wanted = {
        name: provider
        for name, provider in container.providers.items()
        if isinstance(provider, providers.Factory) or name in {"cursors", "clock"}
    }
    dependencies = {
        name: Provide(_call(provider), sync_to_thread=False) for name, provider in wanted.items()
    }
    dependencies["principal"] = Provide(provide_principal)
    return dependencies


def _call(provider: providers.Provider[Any]) -> Callable[[], Any]:
    def provide() -> Any:
        return provider()

    return provide


async def provide_principal(
    request: Request[Any, Any, Any], identify_caller: NamedDependency[IdentifyCaller]
) -> Principal | None:
    """The signed-in caller, None for anonymous ones, from the credentials the edge
    step verified. A malformed or invalid Authorization header is a 401, never
    silently anonymous."""
    credentials = credentials_of(request.scope)
    if credentials.claims is not None:
        # The idempotency step identified the caller already on its routes.
        principal = principal_of(request.scope) or await identify_caller.identify(
            credentials.claims
        )
        request.scope["state"][USER_ID] = str(principal.user_id)  # for the request's log record
        return principal
    if credentials.refusal is not None:
        raise NotAuthenticated(credentials.refusal)
    return None
