"""Check-in: a ticket code per confirmed registration, and when it was scanned.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 06:30:00

`ticket_code` is random (application code draws it from `secrets`), unique across
all registrations, NULL while waitlisted; a cancelled registration keeps its code
as a record (a scan of it is refused, not unknown). The upgrade gives every
registration already confirmed a code, so no confirmed seat is ever without one.
`checked_in_at` is set once, by a conditional UPDATE. Plain ADD COLUMN and a unique
index (no batch table rebuild on SQLite, which would drop the CHECK constraints).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("registrations", sa.Column("ticket_code", sa.String(64), nullable=True))
    op.add_column(
        "registrations", sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index("ix_registrations_ticket_code", "registrations", ["ticket_code"], unique=True)
    connection = op.get_bind()
    confirmed = connection.execute(
        sa.text("SELECT id FROM registrations WHERE status = 'confirmed'")
    ).scalars()
    for registration_id in list(confirmed):
        connection.execute(
            sa.text("UPDATE registrations SET ticket_code = :code WHERE id = :id"),
            {"code": secrets.token_urlsafe(24), "id": registration_id},
        )


def downgrade() -> None:
    op.drop_index("ix_registrations_ticket_code", table_name="registrations")
    op.drop_column("registrations", "checked_in_at")
    op.drop_column("registrations", "ticket_code")
