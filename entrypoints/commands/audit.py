"""`eventapi audit`: the audit log, newest first, as an operator reads it.

Reads the log through the same query port as `GET /api/v1/audit-events`, with
the same filters; one line per entry, or one JSON object per line (`--json`).
No account is needed: whoever runs the command already holds the database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from application.ports.audit import AuditCriteria, AuditEntry
from application.ports.queries import MAX_PAGE_SIZE, Keyset, PageRequest
from entrypoints.commands.database import require_schema
from entrypoints.container import Container

TIME = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditListing:
    entries: list[AuditEntry]
    #: Whether older entries follow the ones listed.
    more: bool


async def read_audit(container: Container, criteria: AuditCriteria, limit: int) -> AuditListing:
    """The newest `limit` entries that match, a page of the query at a time."""
    await require_schema(container)
    queries = container.audit_queries()
    found: list[AuditEntry] = []
    after: Keyset | None = None
    while True:
        wanted = min(MAX_PAGE_SIZE, limit + 1 - len(found))
        page = await queries.search(criteria, PageRequest(limit=wanted, after=after))
        found.extend(page.items)
        after = page.next
        if after is None or len(found) > limit:
            break
    return AuditListing(entries=found[:limit], more=len(found) > limit or after is not None)


def print_audit(listing: AuditListing, out: TextIO, *, as_json: bool) -> None:
    if as_json:
        for entry in listing.entries:
            out.write(json.dumps(as_document(entry), sort_keys=True) + "\n")
        return
    if not listing.entries:
        out.write("No audit entry matches.\n")
        return
    for entry in listing.entries:
        out.write(_line(entry) + "\n")
    shown = len(listing.entries)
    if listing.more:
        out.write(f"\nThe newest {shown} entries; older ones follow (raise --limit).\n")


def as_document(entry: AuditEntry) -> dict[str, object]:
    """The entry as the HTTP API shows it."""
    return {
        "id": str(entry.id),
        "at": entry.at.isoformat(),
        "actor_id": _text(entry.actor_id),
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": _text(entry.subject_id),
        "ip": entry.ip,
        "details": dict(entry.details),
    }


def _line(entry: AuditEntry) -> str:
    """When, what, to what, by whom, from where, and the details, e.g.
    `2030-01-01 09:00:00  user.role_changed  user 0190...  by 0190...  from 192.0.2.7
    from=attendee to=organizer` (on one line)."""
    subject = f"{entry.subject_type} {entry.subject_id}" if entry.subject_id else "-"
    actor = f"by {entry.actor_id}" if entry.actor_id else "by nobody signed in"
    where = f"from {entry.ip}" if entry.ip else "(not over HTTP)"
    details = " ".join(f"{key}={value}" for key, value in sorted(entry.details.items()))
    parts = [entry.at.strftime(TIME), entry.action, subject, actor, where, details]
    return "  ".join(part for part in parts if part)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def moment(text: str) -> datetime:
    """An RFC 3339 date-time with its offset, or a date (its midnight, UTC)."""
    value = datetime.fromisoformat(text if len(text) != 10 else f"{text}T00:00:00+00:00")
    if value.tzinfo is None:
        raise ValueError("a date-time needs a UTC offset, e.g. Z or +02:00")
    return value
