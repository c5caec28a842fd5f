"""The SQL persistence adapter: PostgreSQL (asyncpg) and SQLite (aiosqlite) through
SQLAlchemy 2 Core.

Tables are SQLAlchemy Core metadata and rows are mapped to domain objects by hand
(`mapping.py`), so no SQLAlchemy type ever leaves this package. Dialect-specific
SQL (row locks, full-text search, distance, upserts) is chosen in here.
"""
