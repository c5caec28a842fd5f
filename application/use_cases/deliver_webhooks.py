"""One attempt at one webhook delivery, and what it leaves behind: a line in the
endpoint's delivery log, and the endpoint's failure bookkeeping.

`DeliverNotifications` claims the outbox row and decides what becomes of it
(sent, tried again, dead-lettered); this class does what is particular to
webhooks: sign and send the stored body, record the attempt, and disable an
endpoint that has failed for `DISABLE_AFTER`, mailing its owner once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from application import webhook_signing
from application.ports.delivery import ClaimedNotification
from application.ports.notifications import Notification, NotificationKind
from application.ports.system import Clock, IdGenerator
from application.ports.unit_of_work import UnitOfWorkFactory
from application.ports.webhook_endpoints import WebhookAttempt
from application.ports.webhooks import DestinationRefused, WebhookSender
from domain.webhooks import Webhook

log = logging.getLogger(__name__)

#: The namespace of the cause of a "your webhook was disabled" mail: one per
#: endpoint and failure streak, however many workers see the last failure.
_DISABLED = UUID("0b7e4c52-8d0a-4c35-b3f4-5a3f9d2e6a10")


class Tried(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    #: The destination guard refused the address: trying again would not help.
    REFUSED = "refused"
    #: Not tried: the endpoint is gone or disabled.
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    outcome: Tried
    response_status: int | None = None
    #: Why it failed or was skipped (no secret, no response body).
    reason: str = ""


class WebhookDelivery:
    """Sends webhook rows of the outbox.

    - The body is the one stored when the delivery was queued; `webhook-id` is
      `message_id_for(row's cause)`, the same on every retry; the timestamp is
      the attempt's; it is signed with the current secret and, for 24 hours
      after a rotation, the previous one too.
    - A deleted or disabled endpoint is not called (the row is skipped).
    - Any 2xx is a success and ends a failure streak; any other answer, no
      answer or a refused destination is a failure, which starts a streak
      (`failing_since`) or, when the streak is `DISABLE_AFTER` old, disables the
      endpoint and queues a WEBHOOK_DISABLED mail to its owner (once per streak).
    """

    def __init__(
        self, uow: UnitOfWorkFactory, sender: WebhookSender, clock: Clock, ids: IdGenerator
    ) -> None:
        self._uow = uow
        self._sender = sender
        self._clock = clock
        self._ids = ids

    async def attempt(self, item: ClaimedNotification) -> Attempt:
        notification = item.notification
        if notification.webhook_id is None:
            return Attempt(outcome=Tried.SKIPPED, reason="the delivery names no endpoint")
        async with self._uow(read_only=True) as uow:
            hook = await uow.webhooks.get(notification.webhook_id)
        if hook is None:
            return Attempt(outcome=Tried.SKIPPED, reason="the endpoint was deleted")
        if not hook.enabled:
            return Attempt(outcome=Tried.SKIPPED, reason="the endpoint is disabled")
        now = self._clock.now()
        body = notification.details.get("payload", "").encode()
        headers = webhook_signing.headers(
            hook.signing_secrets(now),
            message_id=webhook_signing.message_id_for(notification.cause_id),
            timestamp=int(now.timestamp()),
            body=body,
        )
        try:
            response = await self._sender.send(hook.url, body=body, headers=headers)
        except DestinationRefused as refused:
            return Attempt(outcome=Tried.REFUSED, reason=f"DestinationRefused: {refused}")
        except Exception as failure:  # no answer: timeout, connection, TLS
            return Attempt(outcome=Tried.FAILED, reason=f"{type(failure).__name__}: {failure}")
        if response.delivered:
            return Attempt(outcome=Tried.DELIVERED, response_status=response.status)
        return Attempt(
            outcome=Tried.FAILED,
            response_status=response.status,
            reason=f"the endpoint answered {response.status}",
        )

    async def record(
        self, item: ClaimedNotification, attempt: Attempt, *, next_attempt_at: datetime | None
    ) -> None:
        """Log the attempt and keep the endpoint's failure streak (not for SKIPPED)."""
        notification = item.notification
        if attempt.outcome is Tried.SKIPPED or notification.webhook_id is None:
            return
        now = self._clock.now()
        async with self._uow() as uow:
            hook = await uow.webhooks.get(notification.webhook_id)
            if hook is None:
                return
            await uow.webhooks.record_attempt(
                WebhookAttempt(
                    id=self._ids.new_id(),
                    webhook_id=hook.id,
                    message_id=webhook_signing.message_id_for(notification.cause_id),
                    event_type=notification.details.get("type", ""),
                    attempt=item.attempt,
                    status=attempt.outcome.value,
                    response_status=attempt.response_status,
                    at=now,
                    next_attempt_at=next_attempt_at,
                )
            )
            changed = hook.after_attempt(delivered=attempt.outcome is Tried.DELIVERED, now=now)
            if changed is not hook:
                await uow.webhooks.save(changed)
                if hook.enabled and not changed.enabled:
                    await uow.outbox.add(_disabled_mail(changed, now))
                    log.warning(
                        "webhook %s disabled after failing since %s",
                        hook.id,
                        hook.failing_since,
                        extra={"event": "webhook.disabled", "webhook_id": str(hook.id)},
                    )
            await uow.commit()


def _disabled_mail(hook: Webhook, now: datetime) -> Notification:
    failing_since = hook.failing_since or now
    return Notification(
        cause_id=uuid.uuid5(_DISABLED, f"{hook.id}:{failing_since.isoformat()}"),
        kind=NotificationKind.WEBHOOK_DISABLED,
        recipient_id=hook.owner_id,
        created_at=now,
        details={
            "webhook_id": str(hook.id),
            "url": hook.url,
            "failing_since": failing_since.isoformat(),
        },
    )
