"""Mailed account tokens (password reset, e-mail verification); users.email_verified.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 00:00:00

Accounts that exist when this runs start unverified (`false`): nobody has proved
they read the address yet. Nothing changes for them while
EVENTAPI_REQUIRE_VERIFIED_EMAIL is off (the default); when an operator turns it
on, each of them verifies through POST /auth/verify-email/resend
(docs/security.md, "Password reset and e-mail verification").

A NOT NULL column with a constant default is added in place on both dialects
(PostgreSQL 11+ stores the default in the catalogue, no table rewrite).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("email_verified", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "account_tokens",
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("used_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            "purpose IN ('password_reset', 'email_verification')",
            name=op.f("ck_account_tokens_purpose"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_account_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_account_tokens")),
    )
    op.create_index("ix_account_tokens_user_id_purpose", "account_tokens", ["user_id", "purpose"])
    op.create_index("ix_account_tokens_expires_at", "account_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_account_tokens_expires_at", table_name="account_tokens")
    op.drop_index("ix_account_tokens_user_id_purpose", table_name="account_tokens")
    op.drop_table("account_tokens")
    # SQLite (3.35+) drops a column in place once no index uses it (no table copy,
    # which would have to rebuild the expression index on lower(email)).
    op.drop_column("users", "email_verified")
