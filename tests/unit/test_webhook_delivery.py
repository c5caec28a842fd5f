"""Webhooks on the memory adapters: the fan-out from facts, what the worker sends
(signed, stable webhook-id), the outcomes (skip, retry, dead letter) and the
auto-disable after three days of failures, asserted on the stored state."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from adapters.memory.delivery import MemoryOutboxQueue
from adapters.memory.fakes import RecordingNotifier
from application import webhook_signing
from application.delivery_policy import DeliveryPolicy
from application.ports.notifications import NotificationKind
from application.ports.webhooks import DestinationRefused, WebhookResponse, WebhookSender
from application.principal import Principal
from application.use_cases.deliver_notifications import DeliverNotifications, Outcome
from application.use_cases.deliver_webhooks import WebhookDelivery
from application.use_cases.leave_event import LeaveEventCommand
from application.use_cases.manage_webhooks import (
    CreateWebhook,
    CreateWebhookCommand,
    PingWebhook,
    RotateWebhookSecret,
    UpdateWebhook,
    UpdateWebhookCommand,
    UrlRules,
    WebhookCommand,
    webhook_url,
)
from domain.errors import InvalidValue, NotAllowed
from domain.users import Role
from domain.webhooks import Webhook
from tests.unit.people import person
from tests.unit.world import World

POLICY = DeliveryPolicy(batch_size=10, max_attempts=3, first_retry=timedelta(seconds=30))


@dataclass
class ScriptedSender(WebhookSender):
    """Answers `statuses` in turn (then 200); raises `failure` instead when set."""

    statuses: list[int] = field(default_factory=list)
    failure: Exception | None = None
    sent: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    async def send(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> WebhookResponse:
        self.sent.append((url, body, dict(headers)))
        if self.failure is not None:
            raise self.failure
        return WebhookResponse(status=self.statuses.pop(0) if self.statuses else 200)


@dataclass
class Hooks:
    world: World = field(default_factory=World)
    sender: ScriptedSender = field(default_factory=ScriptedSender)

    def __post_init__(self) -> None:
        w = self.world
        self.queue = MemoryOutboxQueue(w.store)
        self.notifier = RecordingNotifier()
        self.worker = DeliverNotifications(
            self.queue,
            self.notifier,
            w.user_queries,
            w.event_queries,
            w.clock,
            POLICY,
            jitter=lambda: 0.5,
            webhooks=WebhookDelivery(w.uow, self.sender, w.clock, w.ids),
        )
        self.create = CreateWebhook(w.uow, w.clock, w.ids, UrlRules())
        self.ping = PingWebhook(w.uow, w.clock, w.ids)

    async def subscribe(self, owner: Principal, *types: str) -> str:
        hook = await self.create.execute(
            CreateWebhookCommand(
                actor=owner, url="https://hooks.example.org/in", event_types=list(types)
            )
        )
        await self.worker.execute()  # the welcome mails, out of the way
        return hook.secret

    def hook(self) -> Webhook:
        [hook] = self.world.store.state.webhooks.values()
        return hook

    def webhook_rows(self) -> list[dict[str, object]]:
        return [
            json.loads(n.details["payload"])
            for n in self.world.outbox()
            if n.kind is NotificationKind.WEBHOOK
        ]


async def test_facts_reach_the_organizers_and_admins_endpoints_only() -> None:
    hooks = Hooks()
    w = hooks.world
    organizer = await person(w, Role.ORGANIZER, "Olga Organizer")
    other = await person(w, Role.ORGANIZER)
    admin = await person(w, Role.ADMIN)
    attendee = await person(w, Role.ATTENDEE, "Ada Lovelace")
    await hooks.subscribe(organizer, "registration.confirmed", "registration.cancelled")
    await hooks.subscribe(other, "registration.confirmed")
    await hooks.subscribe(admin, "registration.cancelled")
    event = await w.event(organizer)
    await w.join(attendee, event.id)
    await w.leave.execute(LeaveEventCommand(actor=attendee, event_id=event.id))

    rows = [n for n in w.outbox() if n.kind is NotificationKind.WEBHOOK]
    assert sorted((n.details["type"], n.recipient_id == admin.user_id) for n in rows) == [
        ("registration.cancelled", False),
        ("registration.cancelled", True),
        ("registration.confirmed", False),
    ]
    for payload in hooks.webhook_rows():
        data = payload["data"]
        assert isinstance(data, dict)
        assert data["user"] == {"id": str(attendee.user_id), "full_name": "Ada Lovelace"}
        assert data["event_id"] == str(event.id)
        assert "@" not in json.dumps(payload)  # no address of anybody


async def test_a_ping_is_sent_signed_and_logged() -> None:
    hooks = Hooks()
    owner = await person(hooks.world, Role.ORGANIZER)
    secret = await hooks.subscribe(owner, "event.published")
    hook = hooks.hook()
    await hooks.ping.execute(WebhookCommand(actor=owner, webhook_id=hook.id))
    report = await hooks.worker.execute()
    assert report.outcomes == (Outcome.SENT,)
    [(url, body, headers)] = hooks.sender.sent
    assert url == hook.url
    assert headers["webhook-signature"] == webhook_signing.sign(
        [secret],
        message_id=headers["webhook-id"],
        timestamp=int(headers["webhook-timestamp"]),
        body=body,
    )
    assert json.loads(body)["type"] == "webhook.ping"
    [attempt] = hooks.world.store.state.webhook_attempts
    assert (attempt.status, attempt.response_status, attempt.attempt) == ("delivered", 200, 1)
    assert attempt.message_id == headers["webhook-id"]
    assert [d.notification.kind for d in hooks.notifier.delivered] == [
        NotificationKind.WELCOME
    ]  # the welcome mail only: a webhook is not mailed


async def test_a_rotated_secret_signs_beside_the_new_one_for_24_hours() -> None:
    hooks = Hooks()
    w = hooks.world
    owner = await person(w, Role.ORGANIZER)
    old = await hooks.subscribe(owner, "event.published")
    rotated = await RotateWebhookSecret(w.uow, w.clock).execute(
        WebhookCommand(actor=owner, webhook_id=hooks.hook().id)
    )
    assert rotated.signing_secrets(w.clock.now()) == [rotated.secret, old]
    assert rotated.signing_secrets(w.clock.now() + timedelta(hours=24)) == [rotated.secret]


async def test_failures_are_retried_then_dead_lettered_with_the_same_webhook_id() -> None:
    hooks = Hooks(sender=ScriptedSender(statuses=[500, 502, 503]))
    w = hooks.world
    owner = await person(w, Role.ORGANIZER)
    await hooks.subscribe(owner, "event.published")
    await hooks.ping.execute(WebhookCommand(actor=owner, webhook_id=hooks.hook().id))
    outcomes: list[Outcome] = []
    for _ in range(3):
        outcomes += (await hooks.worker.execute()).outcomes
        w.clock.advance(timedelta(hours=1))
    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.DEAD]
    assert len({headers["webhook-id"] for _, _, headers in hooks.sender.sent}) == 1
    log = w.store.state.webhook_attempts
    assert [(a.attempt, a.status, a.response_status) for a in log] == [
        (1, "failed", 500),
        (2, "failed", 502),
        (3, "failed", 503),
    ]
    assert [a.next_attempt_at is None for a in log] == [False, False, True]


async def test_a_refused_destination_is_dead_lettered_at_once() -> None:
    hooks = Hooks(sender=ScriptedSender(failure=DestinationRefused("a private address")))
    owner = await person(hooks.world, Role.ORGANIZER)
    await hooks.subscribe(owner, "event.published")
    await hooks.ping.execute(WebhookCommand(actor=owner, webhook_id=hooks.hook().id))
    assert (await hooks.worker.execute()).outcomes == (Outcome.DEAD,)
    [attempt] = hooks.world.store.state.webhook_attempts
    assert attempt.status == "refused" and attempt.next_attempt_at is None
    assert hooks.hook().failing_since is not None


async def test_a_disabled_endpoint_is_skipped() -> None:
    hooks = Hooks()
    w = hooks.world
    owner = await person(w, Role.ORGANIZER)
    await hooks.subscribe(owner, "event.published")
    hook_id = hooks.hook().id
    await hooks.ping.execute(WebhookCommand(actor=owner, webhook_id=hook_id))
    await UpdateWebhook(w.uow, w.clock, UrlRules()).execute(
        UpdateWebhookCommand(actor=owner, webhook_id=hook_id, enabled=False)
    )
    assert (await hooks.worker.execute()).outcomes == (Outcome.SKIPPED,)
    assert hooks.sender.sent == []


async def test_three_days_of_failures_disable_the_endpoint_and_mail_its_owner_once() -> None:
    hooks = Hooks(sender=ScriptedSender(failure=TimeoutError("no answer")))
    w = hooks.world
    owner = await person(w, Role.ORGANIZER)
    await hooks.subscribe(owner, "event.published")
    hook_id = hooks.hook().id
    await hooks.ping.execute(WebhookCommand(actor=owner, webhook_id=hook_id))
    assert (await hooks.worker.execute()).outcomes == (Outcome.RETRY,)
    started = hooks.hook().failing_since
    assert started == w.clock.now()

    w.clock.advance(timedelta(days=3) - timedelta(seconds=1))
    await hooks.ping.execute(WebhookCommand(actor=owner, webhook_id=hook_id))
    await hooks.worker.execute()
    assert hooks.hook().enabled  # not quite three days

    w.clock.advance(timedelta(seconds=1))
    await hooks.ping.execute(WebhookCommand(actor=owner, webhook_id=hook_id))
    await hooks.worker.execute()
    hook = hooks.hook()
    assert not hook.enabled and hook.disabled_at == w.clock.now()
    mails = [n for n in w.outbox() if n.kind is NotificationKind.WEBHOOK_DISABLED]
    assert [(m.recipient_id, m.details["webhook_id"]) for m in mails] == [
        (owner.user_id, str(hook_id))
    ]

    w.clock.advance(timedelta(hours=2))
    tried = len(hooks.sender.sent)
    report = await hooks.worker.execute()
    assert len(hooks.sender.sent) == tried  # disabled: not called again
    assert Outcome.SENT in report.outcomes  # the mail
    assert len([n for n in w.outbox() if n.kind is NotificationKind.WEBHOOK_DISABLED]) == 1


async def test_attendees_cannot_subscribe() -> None:
    hooks = Hooks()
    attendee = await person(hooks.world, Role.ATTENDEE)
    with pytest.raises(NotAllowed):
        await hooks.subscribe(attendee, "event.published")


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.org/",
        "https://127.0.0.1/",
        "https://10.1.2.3/x",
        "https://[::1]/",
        "https://[::ffff:192.168.0.1]/",
        "https://169.254.169.254/latest",
        "https://localhost:8443/",
        "https://224.0.0.1/",
        "https://user:pw@hooks.example.org/",
        "https:///nohost",
        "https://hooks.example.org:99999/",
    ],
)
def test_urls_refused_by_default(url: str) -> None:
    with pytest.raises(InvalidValue):
        webhook_url(url, UrlRules())


def test_the_switches_let_http_and_private_addresses_through() -> None:
    rules = UrlRules(allow_http=True, allow_private=True)
    assert webhook_url("http://127.0.0.1:8080/in", rules) == "http://127.0.0.1:8080/in"
    assert webhook_url("https://hooks.example.org/in", UrlRules()) == "https://hooks.example.org/in"


def test_the_http_schema_lists_the_same_types_as_the_core() -> None:
    from typing import get_args

    from domain.webhooks import WEBHOOK_TYPES
    from entrypoints.http.schemas.webhooks import WebhookType

    assert get_args(WebhookType) == WEBHOOK_TYPES
