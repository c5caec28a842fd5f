"""`eventapi outbox`: the notifications waiting in the transactional outbox."""

from __future__ import annotations

from typing import TextIO

from adapters.sql.outbox import OutboxListing, SqlOutboxReader
from entrypoints.commands.database import require_schema
from entrypoints.container import Container

HEADER = (
    "Queued notifications, newest first. Mail delivery (the worker) is not part of\n"
    "eventapi yet, so these messages wait in the outbox; none has been sent.\n"
)
COLUMNS = ("created_at (UTC)", "status", "kind", "recipient", "event")


async def read_outbox(container: Container, limit: int) -> OutboxListing:
    await require_schema(container)
    return await SqlOutboxReader(container.engine()).newest(limit)


def print_outbox(listing: OutboxListing, out: TextIO) -> None:
    out.write(HEADER + "\n")
    if not listing.messages:
        out.write("The outbox is empty.\n")
        return
    rows = [
        (
            message.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            message.status if not message.attempts else f"{message.status} ({message.attempts}x)",
            message.kind,
            message.recipient_email,
            message.event_title or "-",
        )
        for message in listing.messages
    ]
    widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS) - 1)]
    for row in [COLUMNS, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write("  ".join([*cells, row[-1]]) + "\n")
    out.write(f"\n{len(rows)} of {listing.total} message{'s' if listing.total != 1 else ''}\n")
