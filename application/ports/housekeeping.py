"""Deleting records nobody needs any more, a batch at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class ExpiredRecords(Protocol):
    """Each call deletes at most `limit` records, oldest first, in one short
    transaction, and returns how many it deleted; fewer than `limit` means none
    is left. Any number of workers may call at once: each record is deleted once.
    """

    async def purge_sent_notifications(self, *, sent_before: datetime, limit: int) -> int:
        """Outbox rows settled (sent, or skipped) before `sent_before`. Pending and
        dead-lettered rows are never deleted here."""
        ...

    async def purge_expired_sessions(self, *, expired_before: datetime, limit: int) -> int:
        """Sessions whose expiry is before `expired_before` (revoked or not), with
        the spent refresh-token digests of each. Returns the sessions deleted."""
        ...

    async def purge_expired_account_tokens(self, *, expired_before: datetime, limit: int) -> int:
        """Mailed account tokens (reset, verification) whose expiry is before
        `expired_before`, used or not: none of them can be redeemed any more."""
        ...

    async def purge_webhook_attempts(self, *, before: datetime, limit: int) -> int:
        """Lines of webhook delivery logs written before `before` (kept as long as
        the sent outbox rows they describe)."""
        ...

    async def purge_idempotency_keys(self, *, created_before: datetime, limit: int) -> int:
        """Idempotency records (claims and stored answers) first used before
        `created_before`: the key is forgotten and its stored answer with it."""
        ...
