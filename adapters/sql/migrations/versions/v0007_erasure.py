"""Erased accounts: when an account was erased (issue 13).

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-30 00:00:00

Erasing an account (`DELETE /users/{id}`, `DELETE /users/me`) replaces its personal
data by a tombstone and keeps the row, so that the events it organised keep their
`organizer_id`. `erased_at` tells the tombstone from a live or deactivated account;
the repositories and the read side treat an erased row as absent. The email's
unique index needs no change: a tombstone's placeholder address is unique per id.

Erasure also deletes every outbox row addressed to the person, inside a
transaction that holds the account's and events' locks: `ix_outbox_recipient_id`
keeps that from scanning the whole outbox.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_outbox_recipient_id", "outbox", ["recipient_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_recipient_id", table_name="outbox")
    op.drop_column("users", "erased_at")
