"""The schema as SQLAlchemy Core metadata. Alembic owns the real DDL (migrations/);
a test checks that the two never drift apart.

Timestamps are stored in UTC: `timestamptz` on PostgreSQL, and naive UTC text on
SQLite, which `UtcDateTime` turns back into aware datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    and_,
    false,
    func,
    or_,
)
from sqlalchemy.dialects import postgresql


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every dialect."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetimes are not stored; give them a time zone")
        value = value.astimezone(UTC)
        # SQLite keeps text: drop the offset so every value has the same fixed width
        # and compares in time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: JSONB on PostgreSQL, JSON text elsewhere.
JsonDocument = JSON().with_variant(postgresql.JSONB(), "postgresql")
#: BIGSERIAL on PostgreSQL, the rowid alias (INTEGER PRIMARY KEY) on SQLite.
RowId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


ROLES = ("attendee", "organizer", "admin")
EVENT_STATUSES = ("draft", "published", "cancelled")
REGISTRATION_STATUSES = ("confirmed", "waitlisted", "cancelled")
OUTBOX_STATUSES = ("pending", "sent", "failed")
TOKEN_PURPOSES = ("password_reset", "email_verification")

users = Table(
    "users",
    metadata,
    Column("id", Uuid(), primary_key=True),
    # Lower-cased by EmailAddress; unique through the lower(email) index below.
    Column("email", String(254), nullable=False),
    Column("full_name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("password_hash", Text(), nullable=False),
    Column("is_active", Boolean(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # Set when the account was erased (migration 0007): the row is a tombstone,
    # which the repositories and the read side treat as absent.
    Column("erased_at", UtcDateTime(), nullable=True),
    # Migration 0006: accounts that existed before start unverified.
    Column("email_verified", Boolean(), nullable=False, server_default=false()),
    CheckConstraint(_one_of("role", ROLES), name="role"),
)
Index("ux_users_email", func.lower(users.c.email), unique=True)
Index("ix_users_role_is_active", users.c.role, users.c.is_active)

events = Table(
    "events",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("organizer_id", Uuid(), ForeignKey("users.id"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text(), nullable=False),
    Column("venue", String(200), nullable=False),
    Column("address", String(500), nullable=False),
    Column("city", String(100), nullable=False),
    Column("country", String(100), nullable=False),
    # Folded words of the city, and of the country's ISO code (application/search.py:
    # folded_words, country_key), for the city word-prefix and country filters.
    Column("city_key", String(100), nullable=False),
    Column("country_key", String(100), nullable=False),
    Column("latitude", Double(), nullable=True),
    Column("longitude", Double(), nullable=True),
    Column("starts_at", UtcDateTime(), nullable=False),
    Column("ends_at", UtcDateTime(), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("capacity", Integer(), nullable=False),
    Column("waitlist_enabled", Boolean(), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attendee_count", Integer(), nullable=False),
    Column("waitlist_count", Integer(), nullable=False),
    Column("tickets_issued", Integer(), nullable=False),
    Column("sequence", Integer(), nullable=False),
    Column("cancel_reason", Text(), nullable=False),
    Column("revision", Integer(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # Geocoding bookkeeping (migration 0002), not part of the aggregate: when the
    # current address was last tried, and when a failed try is due again. Saving
    # a new address clears both (SqlEventRepository.save).
    Column("geocode_attempted_at", UtcDateTime(), nullable=True),
    Column("geocode_retry_at", UtcDateTime(), nullable=True),
    # What text search reads (migration 0004): folded words of the title, and of the
    # title, description text (never its markup), venue and city
    # (application/search.py: event_document), written with every save.
    Column("search_title", Text(), nullable=False, server_default=""),
    Column("search_text", Text(), nullable=False, server_default=""),
    CheckConstraint(_one_of("status", EVENT_STATUSES), name="status"),
    CheckConstraint("capacity >= 1", name="capacity_positive"),
    CheckConstraint("attendee_count >= 0", name="attendee_count_not_negative"),
    CheckConstraint("attendee_count <= capacity", name="attendee_count_within_capacity"),
    CheckConstraint("waitlist_count >= 0", name="waitlist_count_not_negative"),
    CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="coordinates_complete"),
)
# Keyset listing: (starts_at, id) within one status, in both directions.
# The coordinates and the city key ride along (INCLUDE, PostgreSQL) so that
# distance and city-prefix filters are checked on index entries (migration 0004
# added city_key); the seat counters stay out to keep their updates HOT.
Index(
    "ix_events_status_starts_at_id",
    events.c.status,
    events.c.starts_at,
    events.c.id,
    postgresql_include=["latitude", "longitude", "city_key"],
)
Index("ix_events_country_key_starts_at", events.c.country_key, events.c.starts_at, events.c.id)
Index("ix_events_organizer_starts_at", events.c.organizer_id, events.c.starts_at, events.c.id)
# Bounding-box prefilter of distance searches. Status and id ride along (INCLUDE,
# PostgreSQL; migration 0005) so that sorting by distance, which measures every
# candidate in the box, reads index entries only.
Index(
    "ix_events_latitude_longitude",
    events.c.latitude,
    events.c.longitude,
    postgresql_include=["status", "id"],
)
#: Events whose address the geocoding worker has not tried yet (a small set: the
#: partial index holds only them), and failed tries waiting for their retry. The
#: worker's query repeats these very terms, which is how both planners match them.
AWAITING_LOCATION = and_(
    events.c.latitude.is_(None),
    events.c.geocode_attempted_at.is_(None),
    events.c.status != "cancelled",
    or_(events.c.address != "", events.c.city != ""),
)
Index(
    "ix_events_awaiting_location",
    events.c.id,
    postgresql_where=AWAITING_LOCATION,
    sqlite_where=AWAITING_LOCATION,
)
Index(
    "ix_events_geocode_retry_at",
    events.c.geocode_retry_at,
    postgresql_where=events.c.geocode_retry_at.is_not(None),
    sqlite_where=events.c.geocode_retry_at.is_not(None),
)

registrations = Table(
    "registrations",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("event_id", Uuid(), ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Uuid(), ForeignKey("users.id"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("waitlist_ticket", Integer(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    #: Random (domain/registration.py), unique, NULL while waitlisted (migration 0012).
    Column("ticket_code", String(64), nullable=True),
    Column("checked_in_at", UtcDateTime(), nullable=True),
    UniqueConstraint("event_id", "user_id"),
    # Also serves the waitlist head: event_id = ? ORDER BY waitlist_ticket.
    UniqueConstraint("event_id", "waitlist_ticket"),
    CheckConstraint(_one_of("status", REGISTRATION_STATUSES), name="status"),
    CheckConstraint(
        "status = 'waitlisted' OR waitlist_ticket IS NULL", name="ticket_only_when_waitlisted"
    ),
)
Index(
    "ix_registrations_event_created_at",
    registrations.c.event_id,
    registrations.c.created_at,
    registrations.c.id,
)
Index("ix_registrations_user_id", registrations.c.user_id)
Index("ix_registrations_ticket_code", registrations.c.ticket_code, unique=True)

#: Who manages an event alongside its organizer (migration 0011). Deleting the event
#: deletes its rows; erasing a user deletes theirs (application/accounts.py).
event_co_organizers = Table(
    "event_co_organizers",
    metadata,
    Column("event_id", Uuid(), ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Uuid(), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("added_at", UtcDateTime(), nullable=False),
    Column("added_by", Uuid(), ForeignKey("users.id"), nullable=False),
)
Index("ix_event_co_organizers_user_id", event_co_organizers.c.user_id)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("user_id", Uuid(), ForeignKey("users.id"), nullable=False),
    Column("current_token_digest", String(128), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
)
Index("ix_sessions_user_id", sessions.c.user_id)
Index("ix_sessions_expires_at", sessions.c.expires_at)  # the purge of expired sessions

#: Spent refresh-token digests of each session (its "family"); presenting one
#: again revokes the session.
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("digest", String(128), primary_key=True),
    Column("session_id", Uuid(), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
)
Index("ix_refresh_tokens_session_id", refresh_tokens.c.session_id)

#: Single-use tokens mailed to an account's owner (password reset, e-mail
#: verification), by the SHA-256 digest of the token: the token itself is never
#: stored here (docs/security.md, "Password reset and e-mail verification").
account_tokens = Table(
    "account_tokens",
    metadata,
    Column("digest", String(128), primary_key=True),
    Column("user_id", Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime(), nullable=True),
    CheckConstraint(_one_of("purpose", TOKEN_PURPOSES), name="purpose"),
)
Index("ix_account_tokens_user_id_purpose", account_tokens.c.user_id, account_tokens.c.purpose)
Index("ix_account_tokens_expires_at", account_tokens.c.expires_at)  # the purge

#: Calendar feeds (migration 0010): one per user, found by the SHA-256 digest of
#: the secret in its URL; the secret itself is never stored (docs/security.md,
#: "Calendar feed"). Replacing the row rotates the URL.
calendar_feeds = Table(
    "calendar_feeds",
    metadata,
    Column("user_id", Uuid(), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("digest", String(128), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

#: The transactional outbox. Rows get a database sequence number as id, so that a
#: broadcast can expand into thousands of rows with one INSERT ... SELECT and the
#: worker can read them in insertion order; (cause_id, recipient_id) is the
#: idempotency key of the message itself.
outbox = Table(
    "outbox",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("cause_id", Uuid(), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("recipient_id", Uuid(), ForeignKey("users.id"), nullable=False),
    # No foreign key: notifications about a deleted event outlive it.
    Column("event_id", Uuid(), nullable=True),
    Column("details", JsonDocument, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("status", String(20), nullable=False, server_default="pending"),
    Column("attempts", Integer(), nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("last_error", Text(), nullable=True),
    Column("sent_at", UtcDateTime(), nullable=True),
    # When the latest attempt was claimed (migration 0002). While a row is
    # claimed, next_attempt_at is the end of the worker's lease.
    Column("last_attempt_at", UtcDateTime(), nullable=True),
    # Migration 0014: the endpoint of a `webhook` row. No foreign key: a deleted
    # endpoint's pending rows are skipped by the worker, not lost mid-flight.
    Column("webhook_id", Uuid(), nullable=True),
    # When a scheduled row (a reminder) becomes due (migration 0013); null: at once.
    Column("due_at", UtcDateTime(), nullable=True),
    UniqueConstraint("cause_id", "recipient_id"),
    CheckConstraint(_one_of("status", OUTBOX_STATUSES), name="status"),
)
Index("ix_outbox_status_next_attempt_at", outbox.c.status, outbox.c.next_attempt_at)
Index("ix_outbox_status_sent_at", outbox.c.status, outbox.c.sent_at)  # the purge of sent rows
#: Every message to one person: erasure deletes them (migration 0007).
Index("ix_outbox_recipient_id", outbox.c.recipient_id)

#: Webhook endpoints (migration 0014). The secrets are kept as they are, not
#: hashed: the worker signs with them (docs/security.md, "Webhook secrets").
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("owner_id", Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("event_types", JsonDocument, nullable=False),
    Column("description", String(500), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("previous_secret", String(200), nullable=True),
    Column("previous_secret_expires_at", UtcDateTime(), nullable=True),
    Column("enabled", Boolean(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("failing_since", UtcDateTime(), nullable=True),
    Column("disabled_at", UtcDateTime(), nullable=True),
)
Index("ix_webhooks_owner_id", webhooks.c.owner_id)

#: One row per delivery attempt of a webhook (migration 0014), written by the
#: worker, read newest first by (at, id) for GET /webhooks/{id}/deliveries.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("webhook_id", Uuid(), ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("message_id", String(100), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("attempt", Integer(), nullable=False),
    Column("status", String(20), nullable=False),
    Column("response_status", Integer(), nullable=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
)
Index(
    "ix_webhook_attempts_webhook_id_at_id",
    webhook_attempts.c.webhook_id,
    webhook_attempts.c.at,
    webhook_attempts.c.id,
)

#: The audit log (migration 0008): appended in the transaction of the change, never
#: updated or deleted by the service, and not purged. No foreign keys: an entry
#: outlives the account and the event it names. Read newest first by (at, id), all
#: of it or one actor's or one subject's.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor_id", Uuid(), nullable=True),
    Column("action", String(64), nullable=False),
    Column("subject_type", String(32), nullable=True),
    Column("subject_id", Uuid(), nullable=True),
    Column("ip", String(100), nullable=True),
    Column("details", JsonDocument, nullable=False),
)
Index("ix_audit_log_at_id", audit_log.c.at, audit_log.c.id)
Index("ix_audit_log_actor_id_at_id", audit_log.c.actor_id, audit_log.c.at, audit_log.c.id)
Index("ix_audit_log_subject_id_at_id", audit_log.c.subject_id, audit_log.c.at, audit_log.c.id)

#: Requests sent with an `Idempotency-Key` (migration 0009,
#: docs/adr/0009-idempotency-keys.md): one row per (caller, key), a claim while its
#: request runs (`status` null, held until `locked_until`), then the stored answer.
#: No foreign key: `caller` is "user:<id>" or "address:<client address>".
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("caller", String(100), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("token", String(32), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("locked_until", UtcDateTime(), nullable=False),
    Column("status", Integer(), nullable=True),
    Column("headers", JSON(), nullable=True),
    Column("body", LargeBinary(), nullable=True),
)
Index("ix_idempotency_keys_created_at", idempotency_keys.c.created_at)  # the purge

#: Every table, children first: the order to empty them in.
ALL_TABLES: tuple[Table, ...] = (
    audit_log,
    idempotency_keys,
    outbox,
    webhook_attempts,
    webhooks,
    account_tokens,
    calendar_feeds,
    refresh_tokens,
    sessions,
    registrations,
    event_co_organizers,
    events,
    users,
)
