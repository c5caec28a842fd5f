"""`eventapi outbox`: the transactional outbox as an operator sees it; the dead
letters (`--failed`) and their revival (`--retry ID ...`, `--retry-all`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from adapters.sql.outbox import OutboxListing, SqlOutboxReader
from application.ports.delivery import FailedNotification
from application.use_cases.list_failed_notifications import (
    MAX_LISTED,
    ListFailedNotificationsCommand,
)
from application.use_cases.retry_failed_notifications import RetryFailedNotificationsCommand
from entrypoints.commands.database import require_schema
from entrypoints.container import Container

HEADER = (
    "Notifications in the outbox, newest first. The worker delivers them (`eventapi worker`;\n"
    "on the embedded SQLite default, the server itself). Status: pending (due, or waiting\n"
    "for a retry: (Nx) is the attempts so far), sent, skipped (not sent: the account is\n"
    "closed or the event is gone), failed (dead-lettered: see `eventapi outbox --failed`),\n"
    "scheduled (a reminder, not due before its time).\n"
)
COLUMNS = ("id", "created_at (UTC)", "status", "kind", "recipient", "event")
FAILED_HEADER = (
    "Dead-lettered notifications, oldest first: the worker gave up on them after the\n"
    "last attempt, or the relay refused them for good. Fix the cause, then revive them\n"
    "with `eventapi outbox --retry ID ...` or `--retry-all`.\n"
)
TIME = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    row_id: int
    kind: str
    recipient: str
    attempts: int
    last_attempt_at: datetime | None
    last_error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetters:
    letters: list[DeadLetter]
    #: Whether more follow the ones listed.
    more: bool


async def read_outbox(container: Container, limit: int) -> OutboxListing:
    await require_schema(container)
    return await SqlOutboxReader(container.engine()).newest(limit, now=container.clock().now())


async def read_failed(container: Container, limit: int) -> DeadLetters:
    """The first `limit` dead letters (a page of the use case at a time), each with
    its recipient's address when the account still exists."""
    await require_schema(container)
    listing = container.list_failed_notifications()
    found: list[FailedNotification] = []
    after = 0
    while len(found) <= limit:
        wanted = min(MAX_LISTED, limit + 1 - len(found))
        page = await listing.execute(
            ListFailedNotificationsCommand(limit=wanted, after_row_id=after)
        )
        found.extend(page)
        if len(page) < wanted:
            break
        after = page[-1].row_id
    users = container.user_queries()
    letters = []
    for failed in found[:limit]:
        user = await users.get(failed.notification.recipient_id)
        letters.append(
            DeadLetter(
                row_id=failed.row_id,
                kind=failed.notification.kind.value,
                recipient=user.email if user is not None else str(failed.notification.recipient_id),
                attempts=failed.attempts,
                last_attempt_at=failed.last_attempt_at,
                last_error=failed.last_error,
            )
        )
    return DeadLetters(letters=letters, more=len(found) > limit)


async def retry_failed(container: Container, row_ids: Sequence[int] | None) -> int:
    """Revive these dead letters (all when None); returns how many were revived."""
    await require_schema(container)
    command = RetryFailedNotificationsCommand(
        row_ids=None if row_ids is None else tuple(sorted(set(row_ids)))
    )
    return await container.retry_failed_notifications().execute(command)


def print_outbox(listing: OutboxListing, out: TextIO) -> None:
    out.write(HEADER + "\n")
    if not listing.messages:
        out.write("The outbox is empty.\n")
        return
    rows = [
        (
            str(message.row_id),
            message.created_at.strftime(TIME),
            message.status if not message.attempts else f"{message.status} ({message.attempts}x)",
            message.kind,
            message.recipient_email,
            message.event_title or "-",
        )
        for message in listing.messages
    ]
    _table([COLUMNS, *rows], out)
    out.write(f"\n{len(rows)} of {listing.total} message{'s' if listing.total != 1 else ''}\n")


def print_failed(dead: DeadLetters, out: TextIO) -> None:
    out.write(FAILED_HEADER + "\n")
    if not dead.letters:
        out.write("No notification is dead-lettered.\n")
        return
    rows = [
        (
            str(letter.row_id),
            letter.last_attempt_at.strftime(TIME) if letter.last_attempt_at else "-",
            str(letter.attempts),
            letter.kind,
            letter.recipient,
            _one_line(letter.last_error) or "-",
        )
        for letter in dead.letters
    ]
    _table(
        [("id", "last attempt (UTC)", "attempts", "kind", "recipient", "last error"), *rows], out
    )
    shown = len(rows)
    if dead.more:
        out.write(f"\nThe first {shown} dead-lettered messages; more follow (raise --limit).\n")
    else:
        out.write(f"\n{shown} dead-lettered message{'s' if shown != 1 else ''}\n")


def print_retried(revived: int, row_ids: Sequence[int] | None, out: TextIO) -> None:
    plural = "s" if revived != 1 else ""
    if row_ids is None:
        out.write(f"Revived {revived} dead-lettered message{plural}")
    else:
        asked = len(set(row_ids))
        out.write(f"Revived {revived} of the {asked} message{'s' if asked != 1 else ''} named")
        if revived < asked:
            others = asked - revived
            out.write(f" ({others} {'is' if others == 1 else 'are'} not dead-lettered)")
    out.write("; the worker sends them next.\n" if revived else ".\n")


def _table(rows: list[tuple[str, ...]], out: TextIO) -> None:
    """Columns padded to their widest cell; the last one is left ragged."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write("  ".join([*cells, row[-1]]) + "\n")


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
