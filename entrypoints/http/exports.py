"""Writing a personal data export as JSON, one batch at a time.

The document is `PersonalDataExportOut` (schemas/exports.py), spelled out in
its field order: the opening and the profile first, then each section as a
JSON array whose items are written as each batch is read. Only one batch is
held at a time, whatever the size of the history.

A section is one entry of `_sections`: its key, its generator of batches and
how one item is turned into its schema.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec

from application.use_cases.export_my_data import PersonalDataExport
from entrypoints.http.schemas.audit import AuditEventOut
from entrypoints.http.schemas.events import EventOut
from entrypoints.http.schemas.exports import ExportedNotificationOut, PersonalDataExportOut
from entrypoints.http.schemas.registrations import RegistrationOut
from entrypoints.http.schemas.users import UserOut

_encoder = msgspec.json.Encoder()
Section = tuple[str, AsyncIterator[list[Any]], Callable[[Any], object]]


def _as_is(item: Any) -> object:
    return item


def _sections(export: PersonalDataExport) -> list[Section]:
    return [
        ("registrations", export.registrations, RegistrationOut.of),
        ("events_organised", export.organised_events, EventOut.of),
        ("notifications", export.notifications, ExportedNotificationOut.of),
        ("webhooks", export.webhooks, _as_is),
        ("audit_events", export.audit_events, AuditEventOut.of),
    ]


def filename(export: PersonalDataExport) -> str:
    return f"eventapi-export-{export.exported_at.date().isoformat()}.json"


async def export_json(export: PersonalDataExport) -> AsyncIterator[bytes]:
    """The document's bytes, in pieces: the head, then one piece per batch."""
    yield b'{"exported_at":' + _encoder.encode(export.exported_at)
    yield b',"profile":' + _encoder.encode(UserOut.of(export.profile))
    sections = _sections(export)
    assert [key for key, _, _ in sections] == _DOCUMENT_KEYS[2:]
    for key, batches, out in sections:
        yield b',"' + key.encode() + b'":['
        separator = b""
        async for batch in batches:
            if batch:
                yield separator + b",".join(_encoder.encode(out(item)) for item in batch)
                separator = b","
        yield b"]"
    yield b"}\n"


#: The document's keys in the order they are written (the schema's field order).
_DOCUMENT_KEYS = list(PersonalDataExportOut.__struct_fields__)
