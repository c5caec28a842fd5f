"""Opaque, tamper-checked keyset cursors.

A cursor names where the previous page ended and which query it belongs to;
it is signed, so a forged or edited one is a 400, and a cursor from one
search cannot be replayed against different filters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from datetime import datetime
from uuid import UUID

from application.ports.queries import Keyset
from domain.errors import InvalidValue


class CursorCodec:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def encode(self, keyset: Keyset, query: str) -> str:
        value = keyset.sort_value
        sort_value = value.isoformat() if isinstance(value, datetime) else value
        fields: list[object] = [sort_value, str(keyset.id)]
        if keyset.lead is not None:
            fields.append(keyset.lead)
        payload = json.dumps(fields, separators=(",", ":")).encode()
        body = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
        return f"{body}.{self._sign(body, query)}"

    def decode(self, cursor: str, query: str) -> Keyset:
        try:
            body, signature = cursor.split(".", 1)
            if not hmac.compare_digest(signature, self._sign(body, query)):
                raise ValueError("bad signature")
            fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            sort_value, row_id, *rest = fields
            lead = float(rest[0]) if rest else None
            if len(rest) > 1 or (lead is not None and not math.isfinite(lead)):
                raise ValueError("not a keyset")
            return Keyset(sort_value=_sort_value(sort_value), id=UUID(row_id), lead=lead)
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            raise InvalidValue("cursor", "is not a cursor from this listing") from exc

    def _sign(self, body: str, query: str) -> str:
        mac = hmac.new(self._key, f"{query}\n{body}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:18]).decode()


def _sort_value(raw: object) -> datetime | int | float | None:
    """A moment (ISO 8601 text), a number (whole metres, say) or nothing."""
    if raw is None or (isinstance(raw, int | float) and not isinstance(raw, bool)):
        return raw
    if isinstance(raw, str):
        return datetime.fromisoformat(raw)
    raise ValueError("not a sort value")
