"""Webhook endpoints and their delivery log are stored alike on memory, SQLite and
PostgreSQL; the fan-out from a fact to subscribed endpoints (an outbox row each,
in the transaction of the change) finds the same subscribers everywhere."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from application.accounts import erase_account
from application.ports.notifications import NotificationKind
from application.ports.queries import Keyset
from application.ports.webhook_endpoints import WebhookAttempt
from domain.event import EventStatus
from domain.users import Role, User
from domain.webhooks import Webhook
from tests.builders import NOW, a_user, an_event, new_id
from tests.contract.backends import Backend
from tests.contract.test_repositories import store


def a_webhook(owner: User, *types: str, enabled: bool = True) -> Webhook:
    return Webhook(
        id=new_id(),
        owner_id=owner.id,
        url="https://hooks.example.org/in",
        event_types=types or ("event.published",),
        description="CRM",
        secret="whsec_" + "A" * 32,
        created_at=NOW,
        enabled=enabled,
    )


def an_attempt(hook: Webhook, minutes: int, number: int = 1) -> WebhookAttempt:
    return WebhookAttempt(
        id=new_id(),
        webhook_id=hook.id,
        message_id="msg_" + "0" * 32,
        event_type="event.published",
        attempt=number,
        status="failed",
        response_status=500,
        at=NOW + timedelta(minutes=minutes),
        next_attempt_at=NOW + timedelta(minutes=minutes + 1),
    )


async def test_an_endpoint_is_stored_changed_and_deleted(backend: Backend) -> None:
    owner = a_user(role=Role.ORGANIZER)
    await store(backend, owner)
    hook = a_webhook(owner, "event.published", "registration.confirmed")
    async with backend.uow() as uow:
        await uow.webhooks.add(hook)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.webhooks.get(hook.id) == hook
        rotated = replace(
            hook.rotated("whsec_" + "B" * 32, NOW),
            failing_since=NOW,
            enabled=False,
            disabled_at=NOW + timedelta(days=3),
        )
        await uow.webhooks.save(rotated)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.webhooks.get(hook.id) == rotated
        assert await uow.webhooks.delete(hook.id) is True
        assert await uow.webhooks.delete(hook.id) is False
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.webhooks.get(hook.id) is None


async def test_nothing_is_kept_without_commit(backend: Backend) -> None:
    owner = a_user(role=Role.ORGANIZER)
    await store(backend, owner)
    hook = a_webhook(owner)
    async with backend.uow() as uow:
        await uow.webhooks.add(hook)
    async with backend.uow() as uow:
        assert await uow.webhooks.get(hook.id) is None


async def test_pages_are_by_id_and_per_owner(backend: Backend) -> None:
    one, two = a_user(role=Role.ORGANIZER), a_user(role=Role.ORGANIZER)
    await store(backend, one, two)
    hooks = [a_webhook(one), a_webhook(two), a_webhook(one), a_webhook(one)]
    async with backend.uow() as uow:
        for hook in hooks:
            await uow.webhooks.add(hook)
        await uow.commit()
    async with backend.uow() as uow:
        everybody = await uow.webhooks.page(owner_id=None, limit=10, after=None)
        first = await uow.webhooks.page(owner_id=one.id, limit=2, after=None)
        rest = await uow.webhooks.page(owner_id=one.id, limit=2, after=Keyset(None, first[-1].id))
    assert [h.id for h in everybody] == [h.id for h in hooks]
    assert [h.id for h in first + rest] == [hooks[0].id, hooks[2].id, hooks[3].id]


async def test_the_delivery_log_is_newest_first_and_goes_with_its_endpoint(
    backend: Backend,
) -> None:
    owner = a_user(role=Role.ORGANIZER)
    await store(backend, owner)
    hook, other = a_webhook(owner), a_webhook(owner)
    attempts = [an_attempt(hook, minutes) for minutes in (0, 5, 10)]
    async with backend.uow() as uow:
        await uow.webhooks.add(hook)
        await uow.webhooks.add(other)
        for attempt in attempts:
            await uow.webhooks.record_attempt(attempt)
        await uow.webhooks.record_attempt(an_attempt(other, 1))
        await uow.commit()
    async with backend.uow() as uow:
        first = await uow.webhooks.attempts(hook.id, limit=2, after=None)
        rest = await uow.webhooks.attempts(
            hook.id, limit=2, after=Keyset(first[-1].at, first[-1].id)
        )
    assert first + rest == attempts[::-1]
    async with backend.uow() as uow:
        await uow.webhooks.delete(hook.id)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.webhooks.attempts(hook.id, limit=10, after=None) == []
        assert len(await uow.webhooks.attempts(other.id, limit=10, after=None)) == 1


async def test_subscribers_are_the_organizers_and_admins_enabled_subscribed_endpoints(
    backend: Backend,
) -> None:
    organizer, other = a_user(role=Role.ORGANIZER), a_user(role=Role.ORGANIZER)
    admin = a_user(role=Role.ADMIN)
    event = an_event(organizer)
    await store(backend, organizer, other, admin, event)
    mine = a_webhook(organizer, "event.published")
    mine_other_type = a_webhook(organizer, "event.cancelled")
    mine_disabled = a_webhook(organizer, "event.published", enabled=False)
    theirs = a_webhook(other, "event.published")
    admins = a_webhook(admin, "event.published", "event.cancelled")
    async with backend.uow() as uow:
        for hook in (mine, mine_other_type, mine_disabled, theirs, admins):
            await uow.webhooks.add(hook)
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.webhooks.subscribers(event_id=event.id, event_type="event.published")
        assert await uow.webhooks.display_name(other.id) == other.full_name
    assert {(s.webhook_id, s.owner_id) for s in found} == {
        (mine.id, organizer.id),
        (admins.id, admin.id),
    }


async def test_a_fact_queues_one_webhook_row_per_subscribed_endpoint(backend: Backend) -> None:
    organizer, admin = a_user(role=Role.ORGANIZER), a_user(role=Role.ADMIN)
    attendee = a_user(name="Ada Lovelace")
    event = an_event(organizer, status=EventStatus.DRAFT)
    await store(backend, organizer, admin, attendee, event)
    mine = a_webhook(organizer, "event.published")
    admins = a_webhook(admin, "event.published")
    async with backend.uow() as uow:
        await uow.webhooks.add(mine)
        await uow.webhooks.add(admins)
        await uow.commit()
    async with backend.uow() as uow:
        loaded = await uow.events.get(event.id)
        assert loaded is not None
        loaded.publish(NOW)
        await uow.events.save(loaded)
        await uow.commit()
    rows = [n for n in await backend.outbox() if n.kind is NotificationKind.WEBHOOK]
    assert {(n.webhook_id, n.recipient_id) for n in rows} == {
        (mine.id, organizer.id),
        (admins.id, admin.id),
    }
    assert len({n.cause_id for n in rows}) == 2  # one cause per endpoint
    for row in rows:
        assert row.details["type"] == "event.published"
        body = json.loads(row.details["payload"])
        assert body["type"] == "event.published"
        assert body["data"]["event"]["id"] == str(event.id)
        assert body["data"]["event"]["title"] == event.title
        assert body["data"]["event"]["status"] == "published"


async def test_erasing_an_account_deletes_its_endpoints(backend: Backend) -> None:
    owner, other = a_user(role=Role.ORGANIZER), a_user(role=Role.ORGANIZER)
    await store(backend, owner, other)
    hook, kept = a_webhook(owner), a_webhook(other)
    async with backend.uow() as uow:
        await uow.webhooks.add(hook)
        await uow.webhooks.add(kept)
        await uow.webhooks.record_attempt(an_attempt(hook, 0))
        await uow.commit()
    async with backend.uow() as uow:
        await erase_account(uow, owner, now=NOW)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.webhooks.get(hook.id) is None
        assert await uow.webhooks.attempts(hook.id, limit=10, after=None) == []
        assert await uow.webhooks.get(kept.id) == kept
