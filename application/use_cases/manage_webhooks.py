"""Webhook endpoints: subscribe, read, change, delete, rotate the secret, ping,
and read the delivery log (docs/notifications.md, "Webhooks").

- Organizers and admins create endpoints; an endpoint belongs to its creator.
  Organizers hear about their own events, admins about every event.
- Only the owner and admins see or touch an endpoint; to anyone else it does
  not exist (NotFound, as for a draft event).
- The secret (`whsec_...`) is returned by create and rotate only. A rotated-out
  secret still signs deliveries for 24 hours.
- The URL is `https://` (or `http://` when allowed); a literal private,
  loopback, link-local or multicast address (or `localhost`) is refused here
  when private destinations are not allowed. Names are resolved and checked
  again at every delivery (the sender's guard).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit
from uuid import UUID

from application.accounts import hold_active_account
from application.authorization import require_role, require_signed_in
from application.ports.queries import Keyset, Page, PageRequest
from application.ports.system import Clock, IdGenerator
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from application.ports.webhook_endpoints import WebhookAttempt
from application.principal import Principal
from application.webhook_signing import new_secret
from application.webhooks import PING, webhook_notification
from domain.domain_events import WebhookCreated, WebhookDeleted
from domain.errors import InvalidValue, NotFound
from domain.users import Role
from domain.webhooks import MAX_DESCRIPTION_LENGTH, MAX_URL_LENGTH, WEBHOOK_TYPES, Webhook


@dataclass(frozen=True, slots=True, kw_only=True)
class UrlRules:
    """EVENTAPI_WEBHOOK_ALLOW_HTTP and EVENTAPI_WEBHOOK_ALLOW_PRIVATE."""

    allow_http: bool = False
    allow_private: bool = False


def webhook_url(value: str, rules: UrlRules) -> str:
    if len(value) > MAX_URL_LENGTH:
        raise InvalidValue("url", f"at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise InvalidValue("url", "not a valid URL") from None
    schemes = ("https", "http") if rules.allow_http else ("https",)
    if parts.scheme not in schemes:
        allowed = " or ".join(f"{scheme}://" for scheme in schemes)
        raise InvalidValue("url", f"must start with {allowed}")
    if not host or parts.username is not None or parts.password is not None:
        raise InvalidValue("url", "needs a host, and no user or password")
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise InvalidValue("url", "may not contain spaces or control characters")
    if not rules.allow_private and _private(host):
        raise InvalidValue("url", "private, loopback, link-local and multicast hosts are refused")
    return value


def _private(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: checked when it is resolved, at delivery
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def event_types(values: Sequence[str]) -> tuple[str, ...]:
    if not values:
        raise InvalidValue("event_types", "name at least one type")
    unknown = sorted({value for value in values if value not in WEBHOOK_TYPES})
    if unknown:
        raise InvalidValue(
            "event_types", f"unknown: {', '.join(unknown)} (known: {', '.join(WEBHOOK_TYPES)})"
        )
    return tuple(sorted(set(values), key=WEBHOOK_TYPES.index))


def description(value: str) -> str:
    if len(value) > MAX_DESCRIPTION_LENGTH:
        raise InvalidValue("description", f"at most {MAX_DESCRIPTION_LENGTH} characters")
    return value


async def _visible(uow: UnitOfWork, actor: Principal, webhook_id: UUID) -> Webhook:
    hook = await uow.webhooks.get(webhook_id)
    if hook is None or not (actor.is_admin or hook.owner_id == actor.user_id):
        raise NotFound("webhook", webhook_id)
    return hook


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateWebhookCommand:
    actor: Principal | None
    url: str
    event_types: Sequence[str]
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookCommand:
    actor: Principal | None
    webhook_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateWebhookCommand:
    actor: Principal | None
    webhook_id: UUID
    url: str | None = None
    event_types: Sequence[str] | None = None
    description: str | None = None
    enabled: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListWebhooksCommand:
    actor: Principal | None
    page: PageRequest


@dataclass(frozen=True, slots=True, kw_only=True)
class ListDeliveriesCommand:
    actor: Principal | None
    webhook_id: UUID
    page: PageRequest


class CreateWebhook:
    """An organizer or admin subscribes an endpoint; returns it with its secret."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, rules: UrlRules
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._rules = rules

    async def execute(self, command: CreateWebhookCommand) -> Webhook:
        actor = require_role(command.actor, Role.ORGANIZER)
        now = self._clock.now()
        hook = Webhook(
            id=self._ids.new_id(),
            owner_id=actor.user_id,
            url=webhook_url(command.url, self._rules),
            event_types=event_types(command.event_types),
            description=description(command.description),
            secret=new_secret(),
            created_at=now,
        )
        async with self._uow() as uow:
            await hold_active_account(uow, actor, now)
            await uow.webhooks.add(hook)
            await uow.record(
                WebhookCreated(occurred_at=now, webhook_id=hook.id, owner_id=actor.user_id)
            )
            await uow.commit()
        return hook


class ListWebhooks:
    """The caller's endpoints in creation order; an admin's list holds everybody's."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, command: ListWebhooksCommand) -> Page[Webhook]:
        actor = require_signed_in(command.actor)
        page = command.page
        async with self._uow(read_only=True) as uow:
            hooks = await uow.webhooks.page(
                owner_id=None if actor.is_admin else actor.user_id,
                limit=page.limit + 1,
                after=page.after,
            )
        more = len(hooks) > page.limit
        items = hooks[: page.limit]
        return Page(items, Keyset(None, items[-1].id) if more else None)


class GetWebhook:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, command: WebhookCommand) -> Webhook:
        actor = require_signed_in(command.actor)
        async with self._uow(read_only=True) as uow:
            return await _visible(uow, actor, command.webhook_id)


class UpdateWebhook:
    """Change the URL, types, description or `enabled`. Enabling an endpoint again
    forgets its failure streak."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, rules: UrlRules) -> None:
        self._uow = uow
        self._clock = clock
        self._rules = rules

    async def execute(self, command: UpdateWebhookCommand) -> Webhook:
        actor = require_signed_in(command.actor)
        now = self._clock.now()
        async with self._uow() as uow:
            await hold_active_account(uow, actor, now)
            hook = await _visible(uow, actor, command.webhook_id)
            changed = hook
            if command.url is not None:
                changed = replace(changed, url=webhook_url(command.url, self._rules))
            if command.event_types is not None:
                changed = replace(changed, event_types=event_types(command.event_types))
            if command.description is not None:
                changed = replace(changed, description=description(command.description))
            if command.enabled is not None and command.enabled != hook.enabled:
                changed = replace(
                    changed, enabled=command.enabled, failing_since=None, disabled_at=None
                )
            if changed != hook:
                await uow.webhooks.save(changed)
                await uow.commit()
        return changed


class DeleteWebhook:
    """The endpoint and its log go; deliveries still queued for it are skipped."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: WebhookCommand) -> None:
        actor = require_signed_in(command.actor)
        now = self._clock.now()
        async with self._uow() as uow:
            await hold_active_account(uow, actor, now)
            hook = await _visible(uow, actor, command.webhook_id)
            await uow.webhooks.delete(hook.id)
            await uow.record(
                WebhookDeleted(occurred_at=now, webhook_id=hook.id, owner_id=hook.owner_id)
            )
            await uow.commit()


class RotateWebhookSecret:
    """A new secret; the previous one keeps signing (beside it) for 24 hours."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, command: WebhookCommand) -> Webhook:
        actor = require_signed_in(command.actor)
        now = self._clock.now()
        async with self._uow() as uow:
            await hold_active_account(uow, actor, now)
            hook = (await _visible(uow, actor, command.webhook_id)).rotated(new_secret(), now)
            await uow.webhooks.save(hook)
            await uow.commit()
        return hook


class PingWebhook:
    """Queue a `webhook.ping` delivery to the endpoint, whatever it subscribed to."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    async def execute(self, command: WebhookCommand) -> None:
        actor = require_signed_in(command.actor)
        now = self._clock.now()
        async with self._uow() as uow:
            await hold_active_account(uow, actor, now)
            hook = await _visible(uow, actor, command.webhook_id)
            await uow.outbox.add(
                webhook_notification(
                    cause_id=self._ids.new_id(),
                    webhook_id=hook.id,
                    owner_id=hook.owner_id,
                    event_type=PING,
                    at=now,
                    data={"webhook_id": str(hook.id)},
                )
            )
            await uow.commit()


class ListWebhookDeliveries:
    """The endpoint's delivery attempts, newest first."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, command: ListDeliveriesCommand) -> Page[WebhookAttempt]:
        actor = require_signed_in(command.actor)
        page = command.page
        async with self._uow(read_only=True) as uow:
            hook = await _visible(uow, actor, command.webhook_id)
            attempts = await uow.webhooks.attempts(hook.id, limit=page.limit + 1, after=page.after)
        more = len(attempts) > page.limit
        items = attempts[: page.limit]
        return Page(items, Keyset(items[-1].at, items[-1].id) if more else None)
