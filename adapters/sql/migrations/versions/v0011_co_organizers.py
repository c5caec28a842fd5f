"""Co-organizers: who manages an event alongside its organizer.

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-30 03:30:00

One row per (event, user). Deleting the event deletes its rows (ON DELETE
CASCADE); erasing a user deletes theirs in the erasure's transaction
(application/accounts.py), the index on user_id serving that.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_co_organizers",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["added_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("event_id", "user_id"),
    )
    op.create_index("ix_event_co_organizers_user_id", "event_co_organizers", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_event_co_organizers_user_id", table_name="event_co_organizers")
    op.drop_table("event_co_organizers")
