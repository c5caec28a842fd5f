from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from application.delivery_policy import TICKET_KINDS, TOKEN_KINDS, DeliveryPolicy
from application.ports.delivery import ClaimedNotification, OutboxQueue
from application.ports.notifications import (
    DeliveryRefused,
    Notification,
    NotificationKind,
    Notifier,
    Recipient,
)
from application.ports.queries import EventQueries, EventView, RegistrationQueries, UserQueries
from application.ports.system import Clock
from application.use_cases.deliver_webhooks import Attempt, Tried, WebhookDelivery
from domain.event import EventStatus
from domain.registration import RegistrationStatus

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 1000


class Outcome(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"
    RETRY = "retry"
    DEAD = "dead-lettered"
    RELEASED = "released"
    #: The lease had run out and another worker owns the row now.
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class BatchReport:
    outcomes: tuple[Outcome, ...] = ()

    @property
    def claimed(self) -> int:
        return len(self.outcomes)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for each in self.outcomes if each is outcome)


class DeliverNotifications:
    """Deliver one batch from the outbox: claim, build each message's context,
    hand it to the notifier, record the outcome.

    - A batch is at most `policy.batch_size` rows, leased (never two workers on
      one row); what it costs in memory does not grow with a broadcast's size.
    - Each message gets its recipient (email, name) and the event as it stands
      now from the read side; a message about an event deleted since keeps what
      its details carry, and other messages about a vanished event are skipped,
      as are messages to closed accounts.
    - A failing message never holds up the others: it is retried with
      exponential backoff and jitter, and dead-lettered after
      `policy.max_attempts` attempts or at once when the notifier says it can
      never be delivered.
    - Rows not tried by half the lease are given back, unattempted.
    - The row is marked sent right after the notifier returns; a crash between
      the two means one more delivery, with the same Message-ID.
    - A confirmation or promotion carries the seat's ticket code, read from
      `registrations` at delivery (never stored in the outbox): a seat given up
      since is mailed without one. Without `registrations`, no mail has a code.
    - A reminder is checked again as it goes out: the event is still published
      and not started, and the recipient still holds a confirmed seat; else it is
      skipped (the unit of work withdraws them too: belt and braces).
    """

    def __init__(
        self,
        queue: OutboxQueue,
        notifier: Notifier,
        users: UserQueries,
        events: EventQueries,
        clock: Clock,
        policy: DeliveryPolicy | None = None,
        jitter: Callable[[], float] | None = None,
        *,
        registrations: RegistrationQueries | None = None,
        webhooks: WebhookDelivery | None = None,
    ) -> None:
        self._queue = queue
        self._notifier = notifier
        self._users = users
        self._events = events
        self._clock = clock
        self._policy = policy or DeliveryPolicy()
        self._jitter = jitter or random.SystemRandom().random
        #: Without it, no mail carries a ticket and no reminder can be checked, so
        #: none is sent.
        self._registrations = registrations
        self._webhooks = webhooks

    async def execute(self) -> BatchReport:
        policy = self._policy
        started = self._clock.now()
        claimed = await self._queue.claim(
            limit=policy.batch_size,
            now=started,
            lease=policy.lease,
            max_attempts=policy.max_attempts,
        )
        events: dict[UUID, EventView | None] = {}
        outcomes: list[Outcome] = []
        for item in claimed:
            now = self._clock.now()
            if now - started >= policy.lease / 2:
                released = await self._queue.release(item, now=now)
                outcomes.append(Outcome.RELEASED if released else Outcome.LOST)
                continue
            outcomes.append(await self._deliver(item, events))
        return BatchReport(tuple(outcomes))

    async def _deliver(
        self, item: ClaimedNotification, events: dict[UUID, EventView | None]
    ) -> Outcome:
        notification = item.notification
        try:
            user = await self._users.get(notification.recipient_id)
            if user is None or not user.is_active:
                return await self._skip(item, "the recipient's account is closed")
            if notification.kind is NotificationKind.WEBHOOK:
                return await self._webhook(item)
            if not self._policy.may_deliver(notification.kind, email_verified=user.email_verified):
                return await self._skip(item, "the recipient's address is not verified")
            if _token_expired(notification, self._clock.now()):
                if notification.kind in TOKEN_KINDS:
                    return await self._skip(item, "the link it carries has expired")
                # A welcome whose verification link expired is still a welcome.
                notification = replace(notification, details={})
            event = await self._event(notification.event_id, events)
            if (
                notification.event_id is not None
                and event is None
                and notification.kind is not NotificationKind.EVENT_DELETED
            ):
                return await self._skip(item, "the event no longer exists")
            notification = await self._with_ticket(notification)
            if notification.kind is NotificationKind.REMINDER:
                stale = await self._stale_reminder(notification, event)
                if stale is not None:
                    return await self._skip(item, stale)
            await self._notifier.deliver(
                notification,
                recipient=Recipient(id=user.id, email=user.email, full_name=user.full_name),
                event=event,
                message_id=self._policy.message_id(item.row_id, notification.cause_id),
            )
        except DeliveryRefused as refused:
            return await self._dead(item, _describe(refused))
        except Exception as failure:  # any other failure is worth another try
            if item.attempt >= self._policy.max_attempts:
                return await self._dead(item, _describe(failure))
            return await self._retry(item, _describe(failure))
        sent = await self._queue.mark_sent(item, now=self._clock.now())
        return Outcome.SENT if sent else Outcome.LOST

    async def _with_ticket(self, notification: Notification) -> Notification:
        if (
            notification.kind not in TICKET_KINDS
            or notification.event_id is None
            or self._registrations is None
        ):
            return notification
        code = await self._registrations.ticket_code(
            notification.event_id, notification.recipient_id
        )
        if code is None:
            return notification
        return replace(notification, details={**notification.details, "ticket_code": code})

    async def _webhook(self, item: ClaimedNotification) -> Outcome:
        """A webhook row: POSTed to its endpoint, not mailed. A refused destination
        is dead-lettered at once (the same URL would be refused again)."""
        if self._webhooks is None:
            return await self._skip(item, "webhook delivery is not configured")
        attempt = await self._webhooks.attempt(item)
        if attempt.outcome is Tried.SKIPPED:
            return await self._skip(item, attempt.reason)
        if attempt.outcome is Tried.DELIVERED:
            await self._webhooks.record(item, attempt, next_attempt_at=None)
            sent = await self._queue.mark_sent(item, now=self._clock.now())
            return Outcome.SENT if sent else Outcome.LOST
        if attempt.outcome is Tried.REFUSED or item.attempt >= self._policy.max_attempts:
            await self._webhooks.record(item, attempt, next_attempt_at=None)
            return await self._dead(item, attempt.reason[:MAX_ERROR_LENGTH])
        return await self._retry(item, attempt.reason[:MAX_ERROR_LENGTH], attempt)

    async def _retry(
        self, item: ClaimedNotification, error: str, webhook: Attempt | None = None
    ) -> Outcome:
        """Give the row back with exponential backoff; a webhook attempt is logged
        in its endpoint's delivery log with the time of the next one."""
        delay = self._policy.retry_delay(item.attempt, self._jitter())
        at = self._clock.now() + delay
        if webhook is not None and self._webhooks is not None:
            await self._webhooks.record(item, webhook, next_attempt_at=at)
        log.warning(
            "outbox row %s, attempt %s failed; trying again in %.0fs: %s",
            item.row_id,
            item.attempt,
            delay.total_seconds(),
            error,
            extra={
                "event": "outbox.retry",
                "row_id": item.row_id,
                "attempt": item.attempt,
                "retry_in_s": round(delay.total_seconds(), 1),
                "error": error,
            },
        )
        retried = await self._queue.retry_later(item, at=at, error=error)
        return Outcome.RETRY if retried else Outcome.LOST

    async def _event(
        self, event_id: UUID | None, events: dict[UUID, EventView | None]
    ) -> EventView | None:
        if event_id is None:
            return None
        if event_id not in events:  # a broadcast's batch is mostly one event
            events[event_id] = await self._events.get(event_id)
        return events[event_id]

    async def _stale_reminder(
        self, notification: Notification, event: EventView | None
    ) -> str | None:
        """Why a reminder must not go out now, or None when it may."""
        if event is None or event.status is not EventStatus.PUBLISHED:
            return "the event is no longer on"
        if event.starts_at <= self._clock.now():
            return "the event has started"
        if self._registrations is None:
            return "the registration cannot be checked"
        status = await self._registrations.status_of(event.id, notification.recipient_id)
        if status is not RegistrationStatus.CONFIRMED:
            return "the recipient no longer holds a seat"
        return None

    async def _skip(self, item: ClaimedNotification, reason: str) -> Outcome:
        skipped = await self._queue.mark_skipped(item, now=self._clock.now(), reason=reason)
        return Outcome.SKIPPED if skipped else Outcome.LOST

    async def _dead(self, item: ClaimedNotification, error: str) -> Outcome:
        log.error(
            "outbox row %s given up on after attempt %s: %s",
            item.row_id,
            item.attempt,
            error,
            extra={
                "event": "outbox.dead_letter",
                "row_id": item.row_id,
                "attempt": item.attempt,
                "error": error,
            },
        )
        dead = await self._queue.dead_letter(item, error=error)
        return Outcome.DEAD if dead else Outcome.LOST


def _token_expired(notification: Notification, now: datetime) -> bool:
    """True when the mailed token is gone (scrubbed from a revived dead letter) or
    past its expiry: a link that cannot work is not worth a mail."""
    details = notification.details
    if "token" not in details:
        return notification.kind in TOKEN_KINDS
    try:
        return now >= datetime.fromisoformat(details.get("expires_at", ""))
    except ValueError:
        return True


def _describe(failure: BaseException) -> str:
    text = f"{type(failure).__name__}: {failure}".strip()
    return text[:MAX_ERROR_LENGTH]
