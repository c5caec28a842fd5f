"""Delivery and geocoding bookkeeping: outbox.last_attempt_at, events.geocode_*.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 00:00:00

Nullable columns only, so both dialects add them in place (no table copy on
SQLite). The partial indexes keep the geocoding worker's queries on the few
events that wait for coordinates, however many events there are.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
AWAITING_LOCATION = sa.text(
    "latitude IS NULL AND geocode_attempted_at IS NULL AND status != 'cancelled' "
    "AND (address != '' OR city != '')"
)
RETRY_SCHEDULED = sa.text("geocode_retry_at IS NOT NULL")


def upgrade() -> None:
    op.add_column("outbox", sa.Column("last_attempt_at", TIMESTAMP, nullable=True))
    op.add_column("events", sa.Column("geocode_attempted_at", TIMESTAMP, nullable=True))
    op.add_column("events", sa.Column("geocode_retry_at", TIMESTAMP, nullable=True))
    op.create_index(
        "ix_events_awaiting_location",
        "events",
        ["id"],
        postgresql_where=AWAITING_LOCATION,
        sqlite_where=AWAITING_LOCATION,
    )
    op.create_index(
        "ix_events_geocode_retry_at",
        "events",
        ["geocode_retry_at"],
        postgresql_where=RETRY_SCHEDULED,
        sqlite_where=RETRY_SCHEDULED,
    )


def downgrade() -> None:
    op.drop_index("ix_events_geocode_retry_at", table_name="events")
    op.drop_index("ix_events_awaiting_location", table_name="events")
    # SQLite (3.35+) drops a column in place once no index uses it.
    op.drop_column("events", "geocode_retry_at")
    op.drop_column("events", "geocode_attempted_at")
    op.drop_column("outbox", "last_attempt_at")
