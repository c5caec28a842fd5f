"""The pure parts of search: folding, HTML to text, the `q` parser, countries."""

from __future__ import annotations

import pytest

from application.plain_text import html_to_text
from application.search import Phrase, SearchQuery, fold, parse_query, words
from domain.countries import COUNTRIES, country_code, country_name


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Two talks, pizza and <strong>asyncio</strong>.</p>", "Two talks, pizza and asyncio."),
        ("<p>a</p><p>b<br>c</p>", "a\n\nb\nc"),
        ("<ul><li>x</li><li>y &amp; z</li></ul>", "- x\n- y & z"),
        ("plain   text", "plain text"),
        ("&lt;not a tag&gt;", "<not a tag>"),
        ("<p>  spaced\n  out  </p>", "spaced out"),
    ],
)
def test_html_becomes_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_folding_removes_case_and_accents() -> None:
    assert fold("Café São Paulo ZÜRICH") == "cafe sao paulo zurich"
    assert fold("Straße") == "strasse"
    assert words("l'été 2026, x_y e-mail") == ["l", "ete", "2026", "x", "y", "e", "mail"]


def group(*phrases: Phrase) -> tuple[Phrase, ...]:
    return phrases


@pytest.mark.parametrize(
    ("q", "groups"),
    [
        ("pub quiz", (group(Phrase(("pub",))), group(Phrase(("quiz",))))),
        ('"pub quiz"', (group(Phrase(("pub", "quiz"))),)),
        ("pub OR quiz", (group(Phrase(("pub",)), Phrase(("quiz",))),)),
        (
            "pub or quiz",
            (group(Phrase(("pub",))), group(Phrase(("or",))), group(Phrase(("quiz",)))),
        ),
        ("jazz pub OR bar", (group(Phrase(("jazz",))), group(Phrase(("pub",)), Phrase(("bar",))))),
        ("-jazz", (group(Phrase(("jazz",), negated=True)),)),
        ('-"sold out"', (group(Phrase(("sold", "out"), negated=True)),)),
        ("e-mail", (group(Phrase(("e", "mail"))),)),
        ('"open quote', (group(Phrase(("open", "quote"))),)),
        ("OR x OR", (group(Phrase(("x",))),)),
        ("- % !!!", ()),
        ("", ()),
    ],
)
def test_the_parser(q: str, groups: tuple[tuple[Phrase, ...], ...]) -> None:
    assert parse_query(q) == SearchQuery(groups)


def test_phrases_match_whole_words_and_a_final_prefix() -> None:
    text = "pub quiz night at the cafe"
    assert Phrase(("pub", "qui")).found_in(text)
    assert Phrase(("qui",)).found_in(text)
    assert not Phrase(("pu", "quiz")).found_in(text)
    assert not Phrase(("uiz",)).found_in(text)
    assert parse_query("night -cafe").matches(text) is False
    assert parse_query("night cafe OR bar").matches(text)
    assert parse_query("pub quiz").relevance("pub quiz", text) == 6
    assert parse_query("pub -quiz OR cafe").relevance("night", text) == 2


def test_countries_by_code_or_english_name() -> None:
    assert len(COUNTRIES) == 249
    assert [country_code(c) for c in ("DE", "de", "Germany", " germany ", "UK", "USA")] == [
        "DE",
        "DE",
        "DE",
        "DE",
        "GB",
        "US",
    ]
    assert country_code("Cote d'Ivoire") == "CI"
    assert country_code("Narnia") is None
    assert country_name("DE") == "Germany"
    assert country_name("Narnia") == "Narnia"
