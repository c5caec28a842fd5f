"""Search over HTTP as a client meets it: the `q` syntax, folding, city prefixes,
country codes and names, and `sort=relevance` paged with cursors."""

from __future__ import annotations

from typing import Any

from domain.users import Role
from tests.e2e.conftest import API, Api, assert_problem, event_body
from tests.e2e.test_events import _at, _place, titles


async def searchable(api: Api) -> dict[str, str]:
    owner = await api.user(Role.ORGANIZER, name="searcher")
    specs: list[tuple[str, str, dict[str, Any]]] = [
        (
            "Pub quiz",
            "<p>Teams of <strong>four</strong></p>",
            {**_at("05-10", "18"), **_place("Bar", "São Paulo", "Brazil", 1, 1)},
        ),
        (
            "Quiz at the pub",
            "<p>Café prizes</p>",
            {**_at("05-11", "18"), **_place("Bar", "New York", "us", 2, 2)},
        ),
        (
            "Beach volleyball",
            "<p>Sun</p>",
            {**_at("05-12", "18"), **_place("Beach", "Berlin", "DE", 3, 3)},
        ),
        (
            "Pub food night",
            "<p>Pub quiz too</p>",
            {**_at("05-09", "18"), **_place("Bar", "Newcastle", "United Kingdom", 4, 4)},
        ),
    ]
    ids = {}
    for title, description, fields in specs:
        created = await api.published_event(owner, title=title, description=description, **fields)
        ids[title] = created["id"]
    return ids


async def test_the_search_syntax_over_http(api: Api) -> None:
    await searchable(api)
    cases: list[tuple[dict[str, str], list[str]]] = [
        ({"q": "strong"}, []),
        ({"q": "p"}, ["Pub food night", "Pub quiz", "Quiz at the pub"]),
        ({"q": "cafe"}, ["Quiz at the pub"]),
        ({"q": "sao paulo"}, ["Pub quiz"]),
        ({"q": '"pub quiz"'}, ["Pub food night", "Pub quiz"]),
        (
            {"q": "pub OR volley"},
            ["Pub food night", "Pub quiz", "Quiz at the pub", "Beach volleyball"],
        ),
        ({"q": "quiz -cafe"}, ["Pub food night", "Pub quiz"]),
        ({"q": "%"}, []),
        ({"city": " Berlin"}, ["Beach volleyball"]),
        ({"city": "Berl"}, ["Beach volleyball"]),
        ({"city": "New"}, ["Pub food night", "Quiz at the pub"]),
        ({"city": "Sao Paulo"}, ["Pub quiz"]),
        ({"country": "GB"}, ["Pub food night"]),
        ({"country": "united states"}, ["Quiz at the pub"]),
        ({"country": "BR"}, ["Pub quiz"]),
        # Both words in the title (6 points) before one in the title, one in the text (4).
        ({"q": "pub quiz"}, ["Pub food night", "Pub quiz", "Quiz at the pub"]),
        ({"q": "pub quiz", "sort": "relevance"}, ["Pub quiz", "Quiz at the pub", "Pub food night"]),
    ]
    mismatches = [
        f"{params}: expected {expected}, got {got}"
        for params, expected in cases
        if (got := await titles(api, params)) != expected
    ]
    assert not mismatches, "\n".join(mismatches)


async def test_relevance_pages_follow_their_cursors(api: Api) -> None:
    await searchable(api)
    params = {"q": "pub quiz", "sort": "relevance", "limit": "1"}
    seen = []
    cursor = None
    while True:
        response = await api.client.get(
            f"{API}/events", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [item["title"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Pub quiz", "Quiz at the pub", "Pub food night"]
    # A relevance cursor belongs to its own listing.
    first = (await api.client.get(f"{API}/events", params=params)).json()
    other = {"q": "pub quiz", "limit": "1", "cursor": first["next_cursor"]}
    assert_problem(await api.client.get(f"{API}/events", params=other), 400)


async def test_events_store_the_country_code(api: Api) -> None:
    owner = await api.user(Role.ORGANIZER, name="owner")
    created = await api.create_event(
        owner, location={**event_body()["location"], "country": "Germany"}
    )
    assert created["location"]["country"] == "DE"
    changed = await api.client.patch(
        f"{API}/events/{created['id']}",
        json={"location": {"country": "united kingdom"}},
        headers=owner.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["location"]["country"] == "GB"
    refused = await api.client.patch(
        f"{API}/events/{created['id']}",
        json={"location": {"country": "Narnia"}},
        headers=owner.headers,
    )
    assert "location.country" in assert_problem(refused, 400)["detail"]
    unknown_sort = await api.client.get(f"{API}/events", params={"sort": "title"})
    assert_problem(unknown_sort, 400)
