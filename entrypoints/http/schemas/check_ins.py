"""The bodies of `POST /events/{id}/check-ins`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from msgspec import Meta, Struct

from application.use_cases.check_in import CheckInView
from domain.registration import TICKET_CODE_PATTERN
from entrypoints.http.schemas.events import PersonOut

TicketCode = Annotated[
    str,
    Meta(
        min_length=16,
        max_length=64,
        pattern=TICKET_CODE_PATTERN,
        description="The code on the ticket (the QR code in the confirmation mail holds it): "
        "16 to 64 URL-safe characters (`A-Z a-z 0-9 _ -`)",
        examples=["Zk3x0Qv9bH1mT4nRw8yLc2pS6dFa7gJe"],
    ),
]


class CheckInIn(Struct, forbid_unknown_fields=True, frozen=True):
    ticket_code: TicketCode


class CheckInOut(Struct, frozen=True):
    registration_id: UUID
    user: PersonOut
    checked_in_at: datetime

    @classmethod
    def of(cls, view: CheckInView) -> CheckInOut:
        return cls(
            registration_id=view.registration_id,
            user=PersonOut.of(view.user),
            checked_in_at=view.checked_in_at,
        )
