"""Webhook endpoints and their delivery log in SQL, in the unit of work's transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.tables import events, users, webhook_attempts, webhooks
from application.ports.queries import Keyset
from application.ports.webhook_endpoints import Subscriber, WebhookAttempt, WebhookRepository
from domain.users import Role
from domain.webhooks import Webhook


class SqlWebhookRepository(WebhookRepository):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, webhook: Webhook) -> None:
        await self._connection.execute(insert(webhooks).values(**_values(webhook)))

    async def get(self, webhook_id: UUID) -> Webhook | None:
        row = (
            (await self._connection.execute(select(webhooks).where(webhooks.c.id == webhook_id)))
            .mappings()
            .first()
        )
        return None if row is None else _webhook(row)

    async def save(self, webhook: Webhook) -> None:
        values = _values(webhook)
        del values["id"]
        await self._connection.execute(
            update(webhooks).where(webhooks.c.id == webhook.id).values(**values)
        )

    async def delete(self, webhook_id: UUID) -> bool:
        await self._connection.execute(
            delete(webhook_attempts).where(webhook_attempts.c.webhook_id == webhook_id)
        )
        result = await self._connection.execute(delete(webhooks).where(webhooks.c.id == webhook_id))
        return bool(result.rowcount)

    async def page(
        self, *, owner_id: UUID | None, limit: int, after: Keyset | None
    ) -> list[Webhook]:
        statement = select(webhooks).order_by(webhooks.c.id).limit(limit)
        if owner_id is not None:
            statement = statement.where(webhooks.c.owner_id == owner_id)
        if after is not None:
            statement = statement.where(webhooks.c.id > after.id)
        rows = (await self._connection.execute(statement)).mappings().all()
        return [_webhook(row) for row in rows]

    async def delete_owned_by(self, owner_id: UUID) -> int:
        owned = select(webhooks.c.id).where(webhooks.c.owner_id == owner_id)
        await self._connection.execute(
            delete(webhook_attempts).where(webhook_attempts.c.webhook_id.in_(owned))
        )
        result = await self._connection.execute(
            delete(webhooks).where(webhooks.c.owner_id == owner_id)
        )
        return int(result.rowcount)

    async def subscribers(self, *, event_id: UUID, event_type: str) -> list[Subscriber]:
        # The candidates are few (one organizer's and the admins' endpoints): the
        # subscription itself is checked here, the same way on every dialect.
        organizer = select(events.c.organizer_id).where(events.c.id == event_id).scalar_subquery()
        statement = (
            select(webhooks.c.id, webhooks.c.owner_id, webhooks.c.event_types)
            .join(users, users.c.id == webhooks.c.owner_id)
            .where(
                webhooks.c.enabled.is_(True),
                users.c.is_active.is_(True),
                users.c.erased_at.is_(None),
                or_(
                    webhooks.c.owner_id == organizer,
                    users.c.role == Role.ADMIN.value,
                ),
            )
            .order_by(webhooks.c.id)
        )
        rows = (await self._connection.execute(statement)).all()
        return [
            Subscriber(webhook_id=row.id, owner_id=row.owner_id)
            for row in rows
            if event_type in row.event_types
        ]

    async def display_name(self, user_id: UUID) -> str | None:
        statement = select(users.c.full_name).where(
            users.c.id == user_id, users.c.erased_at.is_(None)
        )
        name: str | None = (await self._connection.execute(statement)).scalar()
        return name

    async def record_attempt(self, attempt: WebhookAttempt) -> None:
        await self._connection.execute(
            insert(webhook_attempts).values(
                id=attempt.id,
                webhook_id=attempt.webhook_id,
                message_id=attempt.message_id,
                event_type=attempt.event_type,
                attempt=attempt.attempt,
                status=attempt.status,
                response_status=attempt.response_status,
                at=attempt.at,
                next_attempt_at=attempt.next_attempt_at,
            )
        )

    async def attempts(
        self, webhook_id: UUID, *, limit: int, after: Keyset | None
    ) -> list[WebhookAttempt]:
        table = webhook_attempts
        statement = (
            select(table)
            .where(table.c.webhook_id == webhook_id)
            .order_by(table.c.at.desc(), table.c.id.desc())
            .limit(limit)
        )
        if after is not None and after.sort_value is not None:
            statement = statement.where(
                or_(
                    table.c.at < after.sort_value,
                    and_(table.c.at == after.sort_value, table.c.id < after.id),
                )
            )
        rows = (await self._connection.execute(statement)).mappings().all()
        return [
            WebhookAttempt(
                id=row["id"],
                webhook_id=row["webhook_id"],
                message_id=row["message_id"],
                event_type=row["event_type"],
                attempt=row["attempt"],
                status=row["status"],
                response_status=row["response_status"],
                at=row["at"],
                next_attempt_at=row["next_attempt_at"],
            )
            for row in rows
        ]


def _values(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "owner_id": webhook.owner_id,
        "url": webhook.url,
        "event_types": list(webhook.event_types),
        "description": webhook.description,
        "secret": webhook.secret,
        "previous_secret": webhook.previous_secret,
        "previous_secret_expires_at": webhook.previous_secret_expires_at,
        "enabled": webhook.enabled,
        "created_at": webhook.created_at,
        "failing_since": webhook.failing_since,
        "disabled_at": webhook.disabled_at,
    }


def _webhook(row: RowMapping) -> Webhook:
    return Webhook(
        id=row["id"],
        owner_id=row["owner_id"],
        url=row["url"],
        event_types=tuple(row["event_types"]),
        description=row["description"],
        secret=row["secret"],
        previous_secret=row["previous_secret"],
        previous_secret_expires_at=row["previous_secret_expires_at"],
        enabled=row["enabled"],
        created_at=row["created_at"],
        failing_since=row["failing_since"],
        disabled_at=row["disabled_at"],
    )
