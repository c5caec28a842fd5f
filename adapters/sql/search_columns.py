"""The stored search forms of an event, computed in Python at write time.

Both databases then search exactly the text application/search.py defines
(folded, markup-free words), which is how SQLite, PostgreSQL and the memory
adapter answer a search the same way.
"""

from __future__ import annotations

from typing import Any

from application.search import country_key, event_document, folded_words
from domain.event import Event


def search_columns(
    *, title: str, description: str, venue: str, city: str, country: str
) -> dict[str, Any]:
    document = event_document(title=title, description=description, venue=venue, city=city)
    return {
        "city_key": folded_words(city),
        "country_key": country_key(country),
        "search_title": document.title,
        "search_text": document.text,
    }


def event_search_columns(event: Event) -> dict[str, Any]:
    location = event.location
    return search_columns(
        title=event.title,
        description=event.description,
        venue=location.venue,
        city=location.city,
        country=location.country,
    )
