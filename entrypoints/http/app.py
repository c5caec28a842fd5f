"""`create_app(container)`: the Litestar application. Nothing connects at import time."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.plugins import RedocRenderPlugin, ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from adapters.sql.migrate import upgrade_database
from entrypoints.container import Container, build_container, close_resources
from entrypoints.http.audit_context import audit_context
from entrypoints.http.bridge import container_dependencies
from entrypoints.http.controllers.audit import AuditController
from entrypoints.http.controllers.auth import AccountRecoveryController, AuthController
from entrypoints.http.controllers.calendar_feed import CalendarFeedController, calendar_feed
from entrypoints.http.controllers.events import EventsController
from entrypoints.http.controllers.health import HealthController
from entrypoints.http.controllers.registrations import RegistrationsController
from entrypoints.http.controllers.users import OwnAccountController, UsersController
from entrypoints.http.controllers.webhooks import WebhooksController
from entrypoints.http.credentials import bearer_credentials
from entrypoints.http.docs_assets import ASSETS_PATH, docs_assets_router
from entrypoints.http.idempotency import APP_STATE_KEY, IdempotencyEdge
from entrypoints.http.metrics import forget_process, metrics, watch_pool
from entrypoints.http.middleware import request_context
from entrypoints.http.observe import observe
from entrypoints.http.openapi import COMPONENTS, DocumentedOpenAPIConfig, PasswordLengths
from entrypoints.http.problems import EXCEPTION_HANDLERS
from entrypoints.http.rate_limits import rate_limits, trusted_networks
from entrypoints.http.read_cache import read_cache
from entrypoints.settings import Settings
from entrypoints.worker import BackgroundWorker

MAX_BODY_BYTES = 1024 * 1024
#: The render plugins link a favicon on a CDN by default; the docs must not leave the host.
NO_FAVICON = "<link rel='icon' href='data:,'>"
FORM_PATHS = ("/api/v1/auth/token", "/api/v1/auth/revoke")
#: Scalar reaches out by default: web fonts from fonts.scalar.com, and on localhost
#: its developer toolbar and "Ask AI" agent, which query api.scalar.com through
#: proxy.scalar.com. Off, so the page asks nothing of any host but this one.
SCALAR_OPTIONS: dict[str, Any] = {
    "withDefaultFonts": False,
    "showDeveloperTools": "never",
    "agent": {"disabled": True},
}


def create_app(container: Container | None = None) -> Litestar:
    container = container or build_container(Settings.from_environment())
    settings: Settings = container.settings()

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        if settings.database.is_sqlite:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            await upgrade_database(container.engine())  # the embedded default migrates itself
        worker = None
        watch_pool(container.engine())
        try:
            if settings.runs_inprocess_worker:  # the embedded default delivers its own mail
                worker = BackgroundWorker.start(container)
            yield
        finally:
            if worker is not None:
                await worker.stop()  # the batch in hand first, then the engine goes
            await close_resources(container)
            forget_process()

    dependencies = container_dependencies(container)
    dependencies["public_url"] = Provide(lambda: settings.http.public_url, sync_to_thread=False)
    dependencies["engine"] = Provide(lambda: container.engine(), sync_to_thread=False)
    app = Litestar(
        route_handlers=[
            AuthController,
            AccountRecoveryController,
            OwnAccountController,
            CalendarFeedController,
            calendar_feed,
            UsersController,
            EventsController,
            RegistrationsController,
            AuditController,
            WebhooksController,
            HealthController,
            docs_assets_router(),
            *metrics(settings.http.metrics, settings.http.metrics_token),
        ],
        dependencies=dependencies,
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=_check_body,
        request_max_body_size=MAX_BODY_BYTES,
        cors_config=CORSConfig(
            allow_origins=list(settings.http.cors_origins),
            allow_credentials=False,
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "If-Match",
                "If-None-Match",
                "X-Request-ID",
            ],
            expose_headers=[
                "ETag",
                "Idempotent-Replayed",
                "Location",
                "Retry-After",
                "X-Request-ID",
                "RateLimit",
                "RateLimit-Policy",
            ],
        )
        if settings.http.cors_origins
        else None,
        openapi_config=DocumentedOpenAPIConfig(
            password_lengths=PasswordLengths(
                settings.security.password_min_length, settings.security.password_max_length
            ),
            title="eventapi",
            version=version("eventapi"),
            description="Events, registrations with waitlists, and the accounts that run them.",
            path="/schema",
            components=COMPONENTS,
            render_plugins=[
                SwaggerRenderPlugin(
                    js_url=f"{ASSETS_PATH}/swagger-ui/swagger-ui-bundle.js",
                    css_url=f"{ASSETS_PATH}/swagger-ui/swagger-ui.css",
                    standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui/swagger-ui-standalone-preset.js",
                    path="/swagger",
                    favicon=NO_FAVICON,
                ),
                RedocRenderPlugin(
                    js_url=f"{ASSETS_PATH}/redoc/redoc.standalone.js",
                    google_fonts=False,
                    path="/redoc",
                    favicon=NO_FAVICON,
                ),
                ScalarRenderPlugin(
                    js_url=f"{ASSETS_PATH}/scalar/standalone.js",
                    css_url=f"{ASSETS_PATH}/scalar/eventapi.css",
                    path="/scalar",
                    favicon=NO_FAVICON,
                    options=SCALAR_OPTIONS,
                ),
            ],
        ),
        lifespan=[lifespan],
        # Logging is the process's (entrypoints/logs.py, set up by `eventapi serve`);
        # unhandled errors are logged by the problem+json handler.
        logging_config=None,
        debug=False,
    )
    # What the `@idempotent` routes' step needs (entrypoints/http/idempotency.py).
    app.state[APP_STATE_KEY] = IdempotencyEdge(
        store=container.idempotency_store,
        clock=container.clock,
        identify_caller=container.identify_caller,
        proxies=trusted_networks(settings.http.trusted_proxies),
        max_body_bytes=MAX_BODY_BYTES,
    )
    # Outside the router, not in `middleware=`: Litestar runs app middleware only for
    # matched routes, and 404s and 405s must carry the request id and headers too.
    # Rate limits count every request (404s too), before routing, inside the request id;
    # they key signed-in callers by the credentials read once just outside them; anonymous
    # reads answered from the read cache are counted by them too. Each
    # request is logged and measured around both, so their refusals are too.
    app.asgi_handler = request_context(
        observe(
            bearer_credentials(
                audit_context(
                    rate_limits(
                        _true_allow_header(
                            _head_as_get(
                                read_cache(
                                    app.asgi_handler,
                                    container.read_cache(),
                                    cors=bool(settings.http.cors_origins),
                                )
                            ),
                            app,
                        ),
                        container.limiter(),
                        settings,
                    ),
                    container.actors(),
                    settings.http.trusted_proxies,
                ),
                container.tokens(),
                container.clock(),
            ),
            app,
            trusted_proxies=settings.http.trusted_proxies,
            metrics=settings.http.metrics,
        )
    )
    return app


def _head_as_get(handler: ASGIApp) -> ASGIApp:
    """HEAD on every route that has a GET (RFC 9110 9.3.2): the GET's status and
    headers, `Content-Length` included, without the body. One place instead of a
    HEAD handler per route; a route without GET answers HEAD as it answers GET."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "HEAD":
            await handler(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await handler({**scope, "method": "GET"}, receive, without_body)

    return serve


def _true_allow_header(handler: ASGIApp, app: Litestar) -> ASGIApp:
    """`Allow` on OPTIONS answers lists every method of the route.

    Litestar makes a route's OPTIONS handler when the route's first handler is
    registered, and that handler keeps reporting the methods of that moment: with
    GET, PATCH and DELETE on /events/{id}, OPTIONS said `Allow: DELETE, OPTIONS`.
    The right list is known once the app is built; it replaces the stale one.
    """
    allowed = {
        route.path_format: ", ".join(sorted(_with_head(route.methods))).encode()
        for route in app.routes
        if isinstance(route, HTTPRoute)
    }

    async def correct(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "OPTIONS":
            await handler(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            methods = allowed.get(scope.get("path_template", ""))
            if message["type"] == "http.response.start" and methods is not None:
                headers = message.get("headers", [])
                if any(name.lower() == b"allow" for name, _ in headers):
                    message["headers"] = [
                        (name, methods if name.lower() == b"allow" else value)
                        for name, value in headers
                    ]
            await send(message)

        await handler(scope, receive, send_with_allow)

    return correct


def _with_head(methods: Iterable[str]) -> set[str]:
    """A route's methods, with the HEAD that `_head_as_get` serves wherever GET is."""
    names = set(methods)
    return names | {"HEAD"} if "GET" in names else names


async def _check_body(request: Request[Any, Any, Any]) -> None:
    """415 for a body that is not what the route reads (JSON, or a form for OAuth2),
    400 for fields sent to a route that reads no body (see `_refuse_unread_body`),
    and 400 for JSON of the wrong types (see `_decode_strictly`)."""
    has_body = request.headers.get("content-length", "0") not in {"", "0"} or (
        "transfer-encoding" in request.headers
    )
    if not has_body:
        return
    if request.route_handler.parsed_data_field is None:
        await _refuse_unread_body(request)
        return
    if request.method not in {"POST", "PUT", "PATCH"}:
        return
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    expected = (
        "application/x-www-form-urlencoded"
        if request.url.path in FORM_PATHS
        else "application/json"
    )
    if media_type != expected:
        raise HTTPException(status_code=415, detail=f"send the body as {expected}")
    if expected == "application/json":
        await _decode_strictly(request, request.route_handler.parsed_data_field.annotation)


async def _decode_strictly(request: Request[Any, Any, Any], shape: Any) -> None:
    """Litestar converts bodies leniently (msgspec `strict=False`, which query strings
    need): `"is_active": 0` became False and `"capacity": "10"` became 10, where the
    schema and the contract say 400. The body is checked against its shape strictly
    first; Litestar's own decoding then sees only bodies that pass. Invalid UTF-8 and
    a key given twice (msgspec keeps the last value silently) are 400s too."""
    body = await request.body()
    try:
        msgspec.json.decode(body, type=shape, strict=True)
    except msgspec.ValidationError as exc:
        raise ValidationException(extra=[{"key": "body", "message": str(exc)}]) from None
    except UnicodeDecodeError:
        raise ValidationException(extra=[{"key": "body", "message": NOT_UTF8}]) from None
    except (msgspec.DecodeError, RecursionError):
        return  # not JSON at all: Litestar's own decoding reports it as before
    _refuse_repeated_keys(body)


NOT_UTF8 = "is not valid UTF-8"
#: An object key in raw JSON. A key can only spell a known field differently with a
#: `\\u` escape, so a body without one whose keys all differ has no repeated key.
_KEY = re.compile(rb'"([A-Za-z0-9_]+)"\s*:')


def _refuse_repeated_keys(body: bytes) -> None:
    """The fast path is one scan of the raw body; only a body where some key appears
    twice (in any object) or an escape could hide one is parsed again, pairwise."""
    keys = _KEY.findall(body)
    if len(keys) == len(set(keys)) and b"\\u" not in body:
        return
    json.loads(body, object_pairs_hook=_unique_pairs)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise ValidationException(extra=[{"key": key, "message": "is given more than once"}])
        seen.add(key)
    return dict(pairs)


async def _refuse_unread_body(request: Request[Any, Any, Any]) -> None:
    """Routes without a body (joining an event, the DELETEs) would otherwise ignore one,
    silently dropping whatever it asked for (`{"user_id": ...}` to join as someone
    else): the contract's "no field is silently dropped" makes that a 400. An empty
    body, or an empty JSON object, asks for nothing and is let through."""
    body = await request.body()
    if not body.strip():
        return
    try:
        sent = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        sent = None
    if sent == {}:
        return
    if isinstance(sent, dict):
        errors = [{"key": "body", "message": f"unknown field `{name}`"} for name in sent]
    else:
        errors = [{"key": "body", "message": "this request takes no body"}]
    raise ValidationException(detail="this request takes no body", extra=errors)
