"""Indexes for the worker's purge: expired sessions, and sent outbox rows by age.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 00:00:00

Without them each hourly purge reads every session and every sent row to find
the few that are due; with them it reads only those.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    op.create_index("ix_outbox_status_sent_at", "outbox", ["status", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_status_sent_at", table_name="outbox")
    op.drop_index("ix_sessions_expires_at", table_name="sessions")
