from __future__ import annotations

from dataclasses import dataclass

from application.ports.delivery import OutboxQueue
from application.ports.system import Clock


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryFailedNotificationsCommand:
    #: The rows to revive; None for every failed one.
    row_ids: tuple[int, ...] | None = None


class RetryFailedNotifications:
    """An operator gives dead-lettered notifications another go (after fixing
    the relay's credentials, say).

    - The rows become due at once, with a full set of attempts.
    - Rows that are not dead-lettered are left alone; the count says how many
      were revived.
    """

    def __init__(self, queue: OutboxQueue, clock: Clock) -> None:
        self._queue = queue
        self._clock = clock

    async def execute(self, command: RetryFailedNotificationsCommand) -> int:
        return await self._queue.retry_failed(command.row_ids, now=self._clock.now())
