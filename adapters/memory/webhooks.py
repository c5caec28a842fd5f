"""Webhook endpoints and their delivery log over a MemoryState (as in SQL)."""

from __future__ import annotations

from uuid import UUID

from adapters.memory.state import MemoryState
from application.ports.queries import Keyset
from application.ports.webhook_endpoints import Subscriber, WebhookAttempt, WebhookRepository
from domain.users import Role
from domain.webhooks import Webhook


class MemoryWebhookRepository(WebhookRepository):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, webhook: Webhook) -> None:
        if webhook.id in self._state.webhooks:
            raise ValueError("duplicate webhook id")
        self._state.webhooks[webhook.id] = webhook  # frozen: no copy needed

    async def get(self, webhook_id: UUID) -> Webhook | None:
        return self._state.webhooks.get(webhook_id)

    async def save(self, webhook: Webhook) -> None:
        if webhook.id in self._state.webhooks:
            self._state.webhooks[webhook.id] = webhook

    async def delete(self, webhook_id: UUID) -> bool:
        self._drop_attempts({webhook_id})
        return self._state.webhooks.pop(webhook_id, None) is not None

    async def page(
        self, *, owner_id: UUID | None, limit: int, after: Keyset | None
    ) -> list[Webhook]:
        chosen = sorted(
            (
                hook
                for hook in self._state.webhooks.values()
                if (owner_id is None or hook.owner_id == owner_id)
                and (after is None or hook.id > after.id)
            ),
            key=lambda hook: hook.id,
        )
        return chosen[:limit]

    async def delete_owned_by(self, owner_id: UUID) -> int:
        owned = {id_ for id_, hook in self._state.webhooks.items() if hook.owner_id == owner_id}
        self._drop_attempts(owned)
        self._state.webhooks = {
            id_: hook for id_, hook in self._state.webhooks.items() if id_ not in owned
        }
        return len(owned)

    async def subscribers(self, *, event_id: UUID, event_type: str) -> list[Subscriber]:
        event = self._state.events.get(event_id)
        organizer = None if event is None else event.organizer_id
        found = []
        for hook in sorted(self._state.webhooks.values(), key=lambda each: each.id):
            owner = self._state.users.get(hook.owner_id)
            if (
                hook.enabled
                and event_type in hook.event_types
                and owner is not None
                and owner.is_active
                and not owner.is_erased
                and (hook.owner_id == organizer or owner.role is Role.ADMIN)
            ):
                found.append(Subscriber(webhook_id=hook.id, owner_id=hook.owner_id))
        return found

    async def display_name(self, user_id: UUID) -> str | None:
        user = self._state.users.get(user_id)
        return None if user is None or user.is_erased else user.full_name

    async def record_attempt(self, attempt: WebhookAttempt) -> None:
        self._state.webhook_attempts = [*self._state.webhook_attempts, attempt]

    async def attempts(
        self, webhook_id: UUID, *, limit: int, after: Keyset | None
    ) -> list[WebhookAttempt]:
        mine = sorted(
            (each for each in self._state.webhook_attempts if each.webhook_id == webhook_id),
            key=lambda each: (each.at, each.id),
            reverse=True,
        )
        if after is not None and after.sort_value is not None:
            bound = after.sort_value
            mine = [each for each in mine if (each.at, each.id) < (bound, after.id)]
        return mine[:limit]

    def _drop_attempts(self, webhook_ids: set[UUID]) -> None:
        self._state.webhook_attempts = [
            each for each in self._state.webhook_attempts if each.webhook_id not in webhook_ids
        ]
