"""Search as people mean it, the same on memory, SQLite and PostgreSQL: folded
text without markup, the websearch-style `q` syntax, relevance with keyset
pages, city word prefixes and country codes (application/search.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.ports.queries import EventCriteria, EventOrder, Keyset, PageRequest
from domain.errors import InvalidValue
from domain.event import Event
from domain.users import Role, User
from tests.builders import NOW, a_user, an_event
from tests.contract.backends import Backend
from tests.contract.test_queries import everything, ids
from tests.contract.test_repositories import store

#: (title, description, city, country): starting a day apart, in this order.
CATALOGUE = [
    ("Pub quiz night", "<p>Teams of four, <strong>prizes</strong>.</p>", "Berlin", "DE"),
    ("Quiz at the pub", "<p>General knowledge</p>", "New York", "US"),
    ("Beach volleyball", "<p>Bring <em>sunscreen</em> and water.</p>", "São Paulo", "BR"),
    ("Café science", "<p>Coffee and a talk about <b>crêpes</b>.</p>", "Zürich", "CH"),
    ("Jazz concert", "<p>Sold out quickly, every year.</p>", "Berlin-Mitte", "DE"),
    ("Rock concert", "<ul><li>Support act</li><li>Main act</li></ul>", "London", "GB"),
    ("Python meetup", "<p>Two talks, pizza and <strong>asyncio</strong>.</p>", "Newcastle", "GB"),
]


@pytest.fixture
async def catalogue(backend: Backend) -> list[Event]:
    organizer = a_user(role=Role.ORGANIZER)
    events = [
        an_event(
            organizer,
            title=title,
            description=description,
            city=city,
            country=country,
            venue="Hall",
            starts_at=NOW + timedelta(days=n + 1),
        )
        for n, (title, description, city, country) in enumerate(CATALOGUE)
    ]
    await store(backend, organizer, *events)
    return events


def titles(catalogue: list[Event], found: list[str]) -> list[str]:
    by_id = {str(e.id): e.title for e in catalogue}
    return [by_id[event_id] for event_id in found]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        # Markup is never searched: tag names match nothing.
        ("strong", []),
        ("em", []),
        ("li", []),
        ("prizes", ["Pub quiz night"]),
        ("asyncio", ["Python meetup"]),
        # Accents and case fold away, in the query and in the text.
        ("cafe", ["Café science"]),
        ("CAFÉ", ["Café science"]),
        ("crepes", ["Café science"]),
        ("sao paulo", ["Beach volleyball"]),
        ("zurich", ["Café science"]),
        # Every word is required, in any order, as a word prefix.
        ("pub quiz", ["Pub quiz night", "Quiz at the pub"]),
        ("volley", ["Beach volleyball"]),
        ("olley", []),
        ("conc", ["Jazz concert", "Rock concert"]),
        # Quoted words must occur together, in order; the last one is a prefix.
        ('"pub quiz"', ["Pub quiz night"]),
        ('"quiz pub"', []),
        ('"pub qui"', ["Pub quiz night"]),
        ('"sold out"', ["Jazz concert"]),
        # OR accepts either, and binds tighter than the implicit AND.
        ("pub OR volleyball", ["Pub quiz night", "Quiz at the pub", "Beach volleyball"]),
        ("concert jazz OR rock", ["Jazz concert", "Rock concert"]),
        ("concert jazz OR pizza", ["Jazz concert"]),
        # A leading minus excludes.
        ("concert -jazz", ["Rock concert"]),
        ('quiz -"pub quiz"', ["Quiz at the pub"]),
        # Punctuation separates words; a query without words finds nothing.
        ("berlin-mitte", ["Jazz concert"]),
        ("main-act", ["Rock concert"]),
        ("!!!", []),
        ("%", []),
    ],
)
async def test_the_query_syntax(
    backend: Backend, catalogue: list[Event], q: str, expected: list[str]
) -> None:
    found = await everything(backend, EventCriteria(text=q), limit=3)
    assert titles(catalogue, found) == expected


@pytest.mark.parametrize(
    ("city", "expected"),
    [
        ("Berlin", ["Pub quiz night", "Jazz concert"]),
        ("  berlin ", ["Pub quiz night", "Jazz concert"]),
        ("Berl", ["Pub quiz night", "Jazz concert"]),
        ("Berlin Mitte", ["Jazz concert"]),
        ("mitte", []),
        ("New", ["Quiz at the pub", "Python meetup"]),
        ("new y", ["Quiz at the pub"]),
        ("New York", ["Quiz at the pub"]),
        ("york new", []),
        ("york", []),
        ("Sao Paulo", ["Beach volleyball"]),
        ("SÃO", ["Beach volleyball"]),
        ("zurich", ["Café science"]),
        ("erlin", []),
        ("%", []),
    ],
)
async def test_the_city_starts_with_the_words_given(
    backend: Backend, catalogue: list[Event], city: str, expected: list[str]
) -> None:
    found = await everything(backend, EventCriteria(city=city), limit=5)
    assert titles(catalogue, found) == expected


@pytest.mark.parametrize(
    ("country", "expected"),
    [
        ("DE", ["Pub quiz night", "Jazz concert"]),
        ("de", ["Pub quiz night", "Jazz concert"]),
        ("Germany", ["Pub quiz night", "Jazz concert"]),
        ("GB", ["Rock concert", "Python meetup"]),
        ("United Kingdom", ["Rock concert", "Python meetup"]),
        ("uk", ["Rock concert", "Python meetup"]),
        ("Switzerland", ["Café science"]),
        ("Brazil", ["Beach volleyball"]),
        ("Narnia", []),
    ],
)
async def test_country_by_code_or_name(
    backend: Backend, catalogue: list[Event], country: str, expected: list[str]
) -> None:
    found = await everything(backend, EventCriteria(country=country), limit=5)
    assert titles(catalogue, found) == expected


RANKED = [
    # Both words in the title (2 x 3 points) beat one in the title plus one elsewhere.
    ("Pub quiz", "<p>Monthly</p>", 1),
    ("Quiz night", "<p>At the pub</p>", 2),
    ("Pub quiz finals", "<p>The best teams</p>", 3),
    ("Open mic", "<p>A pub quiz follows</p>", 4),
    ("Quiz", "<p>pub</p>", 0),
]


@pytest.fixture
async def ranked(backend: Backend) -> list[Event]:
    organizer: User = a_user(role=Role.ORGANIZER)
    events = [
        an_event(
            organizer,
            title=title,
            description=description,
            starts_at=NOW + timedelta(days=day + 1),
        )
        for title, description, day in RANKED
    ]
    await store(backend, organizer, *events)
    return events


async def test_relevance_orders_the_best_matches_first_on_every_page(
    backend: Backend, ranked: list[Event]
) -> None:
    criteria = EventCriteria(text="pub quiz", order=EventOrder.RELEVANCE)
    expected = ["Pub quiz", "Pub quiz finals", "Quiz", "Quiz night", "Open mic"]
    for limit in (1, 2, 3, 10):
        assert titles(ranked, await everything(backend, criteria, limit=limit)) == expected


async def test_relevance_counts_words_searched_for_not_excluded_ones(
    backend: Backend, ranked: list[Event]
) -> None:
    criteria = EventCriteria(text="quiz OR open -finals", order=EventOrder.RELEVANCE)
    found = titles(ranked, await everything(backend, criteria, limit=2))
    # Open mic: quiz 1 + open 3 = 4; the other three have quiz in the title (3), by time.
    assert found == ["Open mic", "Quiz", "Pub quiz", "Quiz night"]


async def test_relevance_without_words_is_start_time_order(
    backend: Backend, ranked: list[Event]
) -> None:
    by_time = ["Quiz", "Pub quiz", "Quiz night", "Pub quiz finals", "Open mic"]
    criteria = EventCriteria(order=EventOrder.RELEVANCE)
    assert titles(ranked, await everything(backend, criteria, limit=2)) == by_time
    nothing = EventCriteria(text="!!!", order=EventOrder.RELEVANCE)
    assert await everything(backend, nothing, limit=2) == []


async def test_a_relevance_page_needs_a_relevance_cursor(
    backend: Backend, ranked: list[Event]
) -> None:
    criteria = EventCriteria(text="quiz", order=EventOrder.RELEVANCE)
    stale = Keyset(NOW, ranked[0].id)  # from a start-time listing: no rank
    with pytest.raises(InvalidValue):
        await backend.events.search(criteria, PageRequest(limit=2, after=stale))


async def test_the_first_page_ends_with_the_rank_of_its_last_row(
    backend: Backend, ranked: list[Event]
) -> None:
    criteria = EventCriteria(text="pub quiz", order=EventOrder.RELEVANCE)
    page = await backend.events.search(criteria, PageRequest(limit=2))
    assert [view.title for view in page.items] == ["Pub quiz", "Pub quiz finals"]
    assert page.next is not None
    assert page.next.lead == 6
    assert ids(ranked[2]) == [str(page.next.id)]
