"""The request path stays on the event loop: no guard or dependency of any route is
handed to Litestar's thread pool, where each call would cost a hop to a worker
thread and back (a sync guard on every signed-in route once cost ~9 % of a join)."""

from __future__ import annotations

from pathlib import Path

from litestar.routes import HTTPRoute
from litestar.utils.sync import AsyncCallable

from entrypoints.container import build_container
from entrypoints.http.app import create_app
from tests.e2e.conftest import settings_for


def test_no_guard_or_dependency_runs_in_the_thread_pool(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path}/e.db", tmp_path)
    app = create_app(build_container(settings))
    hops: list[str] = []
    guarded = 0
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            where = f"{sorted(handler.http_methods)} {route.path}"
            for guard in handler.resolve_guards():
                guarded += 1
                if isinstance(guard, AsyncCallable):
                    hops.append(f"guard {guard.func.__name__} of {where}")
            for name, provide in handler.resolve_dependencies().items():
                if provide.has_sync_callable and provide.sync_to_thread:
                    hops.append(f"dependency {name} of {where}")
            if handler.has_sync_callable and getattr(handler, "sync_to_thread", False):
                hops.append(f"handler {where}")
    assert guarded > 10  # the signed-in routes were looked at
    assert hops == []
