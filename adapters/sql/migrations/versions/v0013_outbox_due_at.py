"""Reminders: outbox.due_at, the time a scheduled notification becomes due.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 00:00:00

A nullable column, added in place on both dialects. Rows queued for "now" leave
it empty; a reminder holds its due time, which a new start time moves. The
unique (cause_id, recipient_id) index already serves the updates and deletes by
cause, so no index is added.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "due_at")
