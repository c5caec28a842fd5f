"""PostgreSQL answers every listing filter from an index.

With sequential scans priced out (`enable_seqscan = off`) the planner still
picks a plan; these tests read it and check that the index meant for each
filter is the one used, so a query that drifts away from its index (a bound
constant in the full-text expression, a function around an indexed column)
fails here rather than at a million rows. Every form of the `q` syntax (prefix,
phrase, OR and exclusion, relevance order and its cursor) goes through the GIN
index of migration 0004, city prefixes through its byte-ordered city index.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.actor_context import ACTORS
from adapters.sql.audit import SqlAuditQueries
from adapters.sql.event_queries import SqlEventQueries
from adapters.sql.explain import Explain
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from application.ports.audit import Actor, AuditCriteria
from application.ports.queries import (
    EXACT_TOTAL_UP_TO,
    EventCriteria,
    EventOrder,
    Keyset,
    PageRequest,
)
from domain.domain_events import SignInFailed, SignInRefusal
from domain.values import Coordinates
from tests.builders import NOW, a_user, an_event, new_id

pytestmark = pytest.mark.postgres


async def plan(engine: AsyncEngine, criteria: EventCriteria, page: PageRequest) -> str:
    statement = SqlEventQueries(engine).search_statement(criteria, page)
    async with engine.connect() as connection:
        await connection.execute(text("SET enable_seqscan = off"))
        rows = (await connection.execute(Explain(statement))).scalars().all()
    return "\n".join(rows)


@pytest.fixture
async def engine(postgres_engine: AsyncEngine) -> AsyncEngine:
    organizer = a_user()
    async with SqlUnitOfWorkFactory(postgres_engine)() as uow:
        await uow.users.add(organizer)
        for day in range(200):
            await uow.events.add(
                an_event(
                    organizer,
                    starts_at=NOW + timedelta(days=day),
                    coordinates=Coordinates(52.5 + day / 100, 13.4 + day / 100),
                )
            )
        await uow.events.add(an_event(organizer, title="Rust evening"))
        await uow.events.add(an_event(organizer, title="Alpine walk", city="Wien", country="AT"))
        await uow.commit()
    async with postgres_engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
    return postgres_engine


AFTER = Keyset(NOW + timedelta(days=3), new_id())
RELEVANCE = EventOrder.RELEVANCE
NEAR = EventCriteria(near=Coordinates(52.5, 13.4), radius_km=5)
NEAREST = EventCriteria(near=Coordinates(52.5, 13.4), radius_km=5, order=EventOrder.DISTANCE)
AFTER_METRES = Keyset(1200, new_id())


@pytest.mark.parametrize(
    ("criteria", "page", "index"),
    [
        (EventCriteria(), PageRequest(), "ix_events_status_starts_at_id"),
        (EventCriteria(), PageRequest(after=AFTER), "ix_events_status_starts_at_id"),
        (EventCriteria(descending=True), PageRequest(after=AFTER), "ix_events_status_starts_at_id"),
        (EventCriteria(text="rust evening"), PageRequest(), "ix_events_search_text"),
        (EventCriteria(text="rus"), PageRequest(), "ix_events_search_text"),
        (EventCriteria(text='"rust eve"'), PageRequest(), "ix_events_search_text"),
        (EventCriteria(text="rust OR ruby -java"), PageRequest(), "ix_events_search_text"),
        (EventCriteria(text="rust", order=RELEVANCE), PageRequest(), "ix_events_search_text"),
        (
            EventCriteria(text="rust", order=RELEVANCE),
            PageRequest(after=Keyset(NOW, new_id(), lead=3)),
            "ix_events_search_text",
        ),
        (EventCriteria(city="WIEN"), PageRequest(), "ix_events_city_prefix"),
        (EventCriteria(city="wi"), PageRequest(), "ix_events_city_prefix"),
        (EventCriteria(country="at"), PageRequest(), "ix_events_country_key_starts_at"),
        (EventCriteria(country="Austria"), PageRequest(), "ix_events_country_key_starts_at"),
        (EventCriteria(organizer_id=new_id()), PageRequest(), "ix_events_organizer_starts_at"),
        (NEAR, PageRequest(), "ix_events_latitude_longitude"),
        (NEAREST, PageRequest(), "ix_events_latitude_longitude"),
        (NEAREST, PageRequest(after=AFTER_METRES), "ix_events_latitude_longitude"),
    ],
)
async def test_each_listing_uses_its_index(
    engine: AsyncEngine, criteria: EventCriteria, page: PageRequest, index: str
) -> None:
    explained = await plan(engine, criteria, page)
    assert index in explained, explained
    assert "Seq Scan on events" not in explained, explained


@pytest.mark.parametrize(
    ("criteria", "index"),
    [
        (EventCriteria(), "ix_events_"),  # any: every event is in some index
        # The city prefix is in two indexes: its own, and the listing index carries
        # city_key too (migration 0004); at this size the planner may take either.
        (EventCriteria(city="BERLIN"), "ix_events_"),
        (EventCriteria(text="rust evening"), "ix_events_search_text"),
        (NEAR, "ix_events_latitude_longitude"),
    ],
)
async def test_the_capped_total_counts_from_the_index(
    engine: AsyncEngine, criteria: EventCriteria, index: str
) -> None:
    capped, estimated = SqlEventQueries(engine).count_statements(
        criteria, exact_up_to=EXACT_TOTAL_UP_TO
    )
    for statement in (capped, estimated):
        async with engine.connect() as connection:
            await connection.execute(text("SET enable_seqscan = off"))
            explained = "\n".join((await connection.execute(Explain(statement))).scalars())
        assert index in explained, explained
        assert "Seq Scan on events" not in explained, explained
        # The count stops one row past the exact limit; the estimate is only planned.
        assert ("Limit" in explained) is (statement is capped), explained


# -- the audit log ---------------------------------------------------------------------------

ACTOR_ID = new_id()


@pytest.fixture
async def audited(postgres_engine: AsyncEngine) -> AsyncEngine:
    """A few hundred entries by a few actors about a few subjects."""
    people = [new_id() for _ in range(20)]
    for n, person in enumerate(people):
        actor = ACTOR_ID if n == 0 else new_id()
        with ACTORS.acting(Actor(user_id=actor, ip="192.0.2.1")):
            async with SqlUnitOfWorkFactory(postgres_engine)() as uow:
                for minute in range(20):
                    await uow.record(
                        SignInFailed(
                            occurred_at=NOW + timedelta(minutes=n * 20 + minute),
                            user_id=person,
                            reason=SignInRefusal.WRONG_PASSWORD,
                        )
                    )
                await uow.commit()
    async with postgres_engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
    return postgres_engine


@pytest.mark.parametrize(
    ("criteria", "page", "index"),
    [
        (AuditCriteria(), PageRequest(), "ix_audit_log_at_id"),
        (AuditCriteria(), PageRequest(after=AFTER), "ix_audit_log_at_id"),
        (AuditCriteria(action="auth.sign_in_failed"), PageRequest(), "ix_audit_log_at_id"),
        (AuditCriteria(since=NOW, until=NOW + timedelta(hours=1)), PageRequest(), "ix_audit_log_"),
        (AuditCriteria(actor_id=ACTOR_ID), PageRequest(), "ix_audit_log_actor_id_at_id"),
        (AuditCriteria(actor_id=ACTOR_ID), PageRequest(after=AFTER), "ix_audit_log_actor_id_at_id"),
        (AuditCriteria(subject_id=new_id()), PageRequest(), "ix_audit_log_subject_id_at_id"),
    ],
)
async def test_the_audit_log_is_read_newest_first_from_its_indexes(
    audited: AsyncEngine, criteria: AuditCriteria, page: PageRequest, index: str
) -> None:
    statement = SqlAuditQueries(audited).search_statement(criteria, page)
    async with audited.connect() as connection:
        await connection.execute(text("SET enable_seqscan = off"))
        explained = "\n".join((await connection.execute(Explain(statement))).scalars().all())
    assert index in explained, explained
    assert "Seq Scan on audit_log" not in explained, explained
