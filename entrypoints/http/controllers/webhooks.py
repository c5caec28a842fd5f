"""`/api/v1/webhooks`: subscriber endpoints for signed, Standard Webhooks deliveries
(docs/notifications.md, "Webhooks"). Owner or admin; to anyone else an endpoint
does not exist (404). The secret is in the answers of create and rotate only."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from application.ports.queries import DEFAULT_PAGE_SIZE
from application.principal import Principal
from application.use_cases.manage_webhooks import (
    CreateWebhook,
    CreateWebhookCommand,
    DeleteWebhook,
    GetWebhook,
    ListDeliveriesCommand,
    ListWebhookDeliveries,
    ListWebhooks,
    ListWebhooksCommand,
    PingWebhook,
    RotateWebhookSecret,
    UpdateWebhook,
    UpdateWebhookCommand,
    WebhookCommand,
)
from entrypoints.http.cursors import CursorCodec
from entrypoints.http.guards import requires_bearer
from entrypoints.http.idempotency import idempotent
from entrypoints.http.openapi import BEARER, responses
from entrypoints.http.paging import Limit, page_request, query_fingerprint
from entrypoints.http.schemas.common import given
from entrypoints.http.schemas.webhooks import (
    DeliveryOut,
    DeliveryPage,
    NewWebhookIn,
    WebhookChangesIn,
    WebhookOut,
    WebhookPage,
    WebhookWithSecretOut,
)

Principal_ = NamedDependency[Principal | None]
Cursor = Annotated[str | None, Parameter(max_length=500)]
NO_STORE = {"Cache-Control": "no-store"}


class WebhooksController(Controller):
    path = "/api/v1/webhooks"
    tags = ["webhooks"]
    security = BEARER
    guards = [requires_bearer]

    @idempotent
    @post(
        "",
        status_code=201,
        summary="Subscribe an endpoint to webhooks (organizer, admin)",
        description="Organizers receive their own events' activity; admins every event's. "
        "The answer holds the signing `secret`, shown only here and on rotation.",
        responses=responses(400, 401, 403, 413, 415, 429),
    )
    async def create(
        self,
        data: JSONBody[NewWebhookIn],
        principal: Principal_,
        create_webhook: NamedDependency[CreateWebhook],
    ) -> Response[WebhookWithSecretOut]:
        hook = await create_webhook.execute(
            CreateWebhookCommand(
                actor=principal,
                url=data.url,
                event_types=list(data.event_types),
                description=data.description,
            )
        )
        return Response(WebhookWithSecretOut.of(hook), status_code=201, headers=NO_STORE)

    @get(
        "",
        summary="My webhook endpoints (an admin's: everybody's), oldest first",
        responses=responses(400, 401, 429),
    )
    async def list_webhooks(
        self,
        request: Request[Any, Any, Any],
        principal: Principal_,
        list_webhooks: NamedDependency[ListWebhooks],
        cursors: NamedDependency[CursorCodec],
        limit: Limit = DEFAULT_PAGE_SIZE,
        cursor: Cursor = None,
    ) -> WebhookPage:
        fingerprint = query_fingerprint(request, "webhooks")
        page = await list_webhooks.execute(
            ListWebhooksCommand(
                actor=principal, page=page_request(cursors, limit, cursor, fingerprint)
            )
        )
        return WebhookPage(
            items=[WebhookOut.of(hook) for hook in page.items],
            next_cursor=cursors.encode(page.next, fingerprint) if page.next else None,
        )

    @get(
        "/{webhook_id:uuid}",
        summary="A webhook endpoint (owner, admin), without its secret",
        responses=responses(400, 401, 404, 429),
    )
    async def get_webhook(
        self,
        webhook_id: FromPath[UUID],
        principal: Principal_,
        get_webhook: NamedDependency[GetWebhook],
    ) -> WebhookOut:
        hook = await get_webhook.execute(WebhookCommand(actor=principal, webhook_id=webhook_id))
        return WebhookOut.of(hook)

    @patch(
        "/{webhook_id:uuid}",
        summary="Change a webhook's URL, types, description or enabled (owner, admin)",
        description="Enabling a disabled endpoint forgets its failure streak.",
        responses=responses(400, 401, 404, 413, 415, 429),
    )
    async def update(
        self,
        webhook_id: FromPath[UUID],
        data: JSONBody[WebhookChangesIn],
        principal: Principal_,
        update_webhook: NamedDependency[UpdateWebhook],
    ) -> WebhookOut:
        types = given(data.event_types)
        hook = await update_webhook.execute(
            UpdateWebhookCommand(
                actor=principal,
                webhook_id=webhook_id,
                url=given(data.url),
                event_types=None if types is None else list(types),
                description=given(data.description),
                enabled=given(data.enabled),
            )
        )
        return WebhookOut.of(hook)

    @delete(
        "/{webhook_id:uuid}",
        status_code=204,
        summary="Delete a webhook endpoint and its delivery log (owner, admin)",
        responses=responses(400, 401, 404, 429),
    )
    async def delete_webhook(
        self,
        webhook_id: FromPath[UUID],
        principal: Principal_,
        delete_webhook: NamedDependency[DeleteWebhook],
    ) -> None:
        await delete_webhook.execute(WebhookCommand(actor=principal, webhook_id=webhook_id))

    @post(
        "/{webhook_id:uuid}/rotate-secret",
        status_code=200,
        summary="A new signing secret (owner, admin); the old one still signs for 24 h",
        description="Until the old secret expires every delivery carries two signatures, "
        "so receivers can switch at their pace. Not `Idempotency-Key`-aware on purpose: "
        "a stored answer would keep the secret.",
        responses=responses(400, 401, 404, 429),
    )
    async def rotate_secret(
        self,
        webhook_id: FromPath[UUID],
        principal: Principal_,
        rotate_webhook_secret: NamedDependency[RotateWebhookSecret],
    ) -> Response[WebhookWithSecretOut]:
        hook = await rotate_webhook_secret.execute(
            WebhookCommand(actor=principal, webhook_id=webhook_id)
        )
        return Response(WebhookWithSecretOut.of(hook), status_code=200, headers=NO_STORE)

    @post(
        "/{webhook_id:uuid}/ping",
        status_code=202,
        summary="Queue a `webhook.ping` delivery to the endpoint (owner, admin)",
        responses=responses(400, 401, 404, 429),
    )
    async def ping(
        self,
        webhook_id: FromPath[UUID],
        principal: Principal_,
        ping_webhook: NamedDependency[PingWebhook],
    ) -> None:
        await ping_webhook.execute(WebhookCommand(actor=principal, webhook_id=webhook_id))

    @get(
        "/{webhook_id:uuid}/deliveries",
        summary="The endpoint's delivery attempts, newest first (owner, admin)",
        responses=responses(400, 401, 404, 429),
    )
    async def deliveries(
        self,
        request: Request[Any, Any, Any],
        webhook_id: FromPath[UUID],
        principal: Principal_,
        list_webhook_deliveries: NamedDependency[ListWebhookDeliveries],
        cursors: NamedDependency[CursorCodec],
        limit: Limit = DEFAULT_PAGE_SIZE,
        cursor: Cursor = None,
    ) -> DeliveryPage:
        fingerprint = query_fingerprint(request, "webhook-deliveries")
        page = await list_webhook_deliveries.execute(
            ListDeliveriesCommand(
                actor=principal,
                webhook_id=webhook_id,
                page=page_request(cursors, limit, cursor, fingerprint),
            )
        )
        return DeliveryPage(
            items=[DeliveryOut.of(attempt) for attempt in page.items],
            next_cursor=cursors.encode(page.next, fingerprint) if page.next else None,
        )
