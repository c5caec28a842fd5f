"""Calendar feeds: one secret URL per user, stored as the digest of its token.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 03:00:00

The token in the feed's URL (`/calendar/{token}.ics`) is never stored: only its
SHA-256 digest, unique, so that the anonymous feed request finds its owner by
one index lookup. One row per user; replacing it rotates the URL; erasing the
account deletes it (docs/security.md, "Calendar feed").
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calendar_feeds_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("digest", name=op.f("uq_calendar_feeds_digest")),
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
