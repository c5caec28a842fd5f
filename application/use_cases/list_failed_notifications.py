from __future__ import annotations

from dataclasses import dataclass

from application.ports.delivery import FailedNotification, OutboxQueue
from domain.errors import InvalidValue

MAX_LISTED = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class ListFailedNotificationsCommand:
    limit: int = 100
    #: Continue after this row id (the last one of the previous page).
    after_row_id: int = 0


class ListFailedNotifications:
    """The dead-lettered notifications, for an operator (`eventapi outbox --failed`).

    - In outbox order, a page at a time; each with its attempts and last error.
    """

    def __init__(self, queue: OutboxQueue) -> None:
        self._queue = queue

    async def execute(self, command: ListFailedNotificationsCommand) -> list[FailedNotification]:
        if not 1 <= command.limit <= MAX_LISTED:
            raise InvalidValue("limit", f"must be 1 to {MAX_LISTED}")
        return await self._queue.failed(limit=command.limit, after_row_id=command.after_row_id)
