"""The audit log: an append-only table, read newest first.

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-30 00:00:00

Entries are written in the transaction of the change they report and never
updated or deleted by the service (docs/adr/0008-audit-log.md). No foreign keys:
an entry outlives the account or event it names. The indexes serve the listing,
newest first by (at, id), of everything, of one actor and of one subject.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject_type", sa.String(32), nullable=True),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("ip", sa.String(100), nullable=True),
        sa.Column("details", JSON_DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at_id", "audit_log", ["at", "id"])
    op.create_index("ix_audit_log_actor_id_at_id", "audit_log", ["actor_id", "at", "id"])
    op.create_index("ix_audit_log_subject_id_at_id", "audit_log", ["subject_id", "at", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_subject_id_at_id", table_name="audit_log")
    op.drop_index("ix_audit_log_actor_id_at_id", table_name="audit_log")
    op.drop_index("ix_audit_log_at_id", table_name="audit_log")
    op.drop_table("audit_log")
