"""Search what people mean: folded search columns, ISO country codes, word indexes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 22:00:00

Adds events.search_title and events.search_text (folded words, description
markup removed; application/search.py) and backfills them, rewrites city_key as
folded words and country as its ISO 3166-1 alpha-2 code where it names a
country (country_key follows), in batches of rows read and written by id.

PostgreSQL gets a GIN index over `to_tsvector('simple', search_text)` (the
event queries build the very same expression) and a byte-ordered index for city
prefixes; the old full-text index over the raw HTML and the exact-city index go
(SQLite, which has no COLLATE "C", scans for city prefixes).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sql.search_columns import search_columns
from domain.countries import country_code

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000
SEARCH_TEXT_INDEX = (
    "CREATE INDEX ix_events_search_text ON events USING gin "
    "(to_tsvector('simple'::regconfig, search_text))"
)
#: City prefixes as byte-order ranges within one status (index-only: the page's ids
#: and start times come from the entries).
CITY_PREFIX_INDEX = (
    'CREATE INDEX ix_events_city_prefix ON events (status, (city_key COLLATE "C"), starts_at, id)'
)
OLD_FULLTEXT_INDEX = (
    "CREATE INDEX ix_events_fulltext ON events USING gin "
    "(to_tsvector('simple'::regconfig, "
    "title || ' ' || description || ' ' || venue || ' ' || city))"
)

_events = sa.table(
    "events",
    sa.column("id", sa.Uuid()),
    sa.column("title", sa.String()),
    sa.column("description", sa.Text()),
    sa.column("venue", sa.String()),
    sa.column("city", sa.String()),
    sa.column("country", sa.String()),
    sa.column("city_key", sa.String()),
    sa.column("country_key", sa.String()),
    sa.column("search_title", sa.Text()),
    sa.column("search_text", sa.Text()),
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("events", sa.Column("search_title", sa.Text(), nullable=False, server_default=""))
    op.add_column("events", sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    _backfill()
    op.drop_index("ix_events_city_key_starts_at", table_name="events")
    if postgres:
        op.execute("DROP INDEX ix_events_fulltext")
        op.execute(SEARCH_TEXT_INDEX)
        op.execute(CITY_PREFIX_INDEX)
        _listing_index(include=["latitude", "longitude", "city_key"])


def _listing_index(include: list[str]) -> None:
    """The listing index carries city_key too, so that a common city's prefix is
    checked on index entries while walking in start order (PostgreSQL)."""
    op.drop_index("ix_events_status_starts_at_id", table_name="events")
    op.create_index(
        "ix_events_status_starts_at_id",
        "events",
        ["status", "starts_at", "id"],
        postgresql_include=include,
    )


def _backfill() -> None:
    connection = op.get_bind()
    columns = [_events.c[name] for name in ("id", "title", "description", "venue", "city")]
    after = None
    while True:
        statement = sa.select(*columns, _events.c.country).order_by(_events.c.id).limit(BATCH)
        if after is not None:
            statement = statement.where(_events.c.id > after)
        rows = connection.execute(statement).mappings().all()
        if not rows:
            return
        connection.execute(_UPDATE, [_new_values(row) for row in rows])
        after = rows[-1]["id"]


_UPDATED = ("country", "city_key", "country_key", "search_title", "search_text")
_UPDATE = (
    sa.update(_events)
    .where(_events.c.id == sa.bindparam("row_id"))
    .values({name: sa.bindparam(f"new_{name}") for name in _UPDATED})
)


def _new_values(row: sa.RowMapping) -> dict[str, object]:
    country = country_code(row["country"]) or row["country"]
    values = search_columns(
        title=row["title"],
        description=row["description"],
        venue=row["venue"],
        city=row["city"],
        country=country,
    )
    values["country"] = country
    return {"row_id": row["id"], **{f"new_{name}": values[name] for name in _UPDATED}}


def downgrade() -> None:
    """Drops the search columns; countries stay codes (a code is a fine country
    name), and city_key goes back to the casefolded city."""
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP INDEX ix_events_city_prefix")
        op.execute("DROP INDEX ix_events_search_text")
        op.execute(OLD_FULLTEXT_INDEX)
        _listing_index(include=["latitude", "longitude"])
    op.execute("UPDATE events SET city_key = lower(city), country_key = lower(country)")
    op.create_index("ix_events_city_key_starts_at", "events", ["city_key", "starts_at", "id"])
    op.drop_column("events", "search_text")
    op.drop_column("events", "search_title")
