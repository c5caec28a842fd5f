"""Search as people mean it: folding, the `q` syntax, and how text matches.

Pure and backend-neutral. Every backend searches the same *folded word text*:
accents and case removed (`fold`), then split into words (`words`), kept as the
words joined by single spaces. The SQL adapters store that text in columns at
write time (so both databases see exactly what this module sees); the memory
adapter computes it on the fly. `parse_query` turns `q` into a `SearchQuery`
that each backend compiles (PostgreSQL to a `tsquery`, SQLite to `LIKE`s over
the folded columns, memory to `SearchQuery.matches`).

The `q` syntax (websearch-style):

- words are all required (implicit AND), in any order: `python berlin`;
- every word matches as a word prefix: `volley` finds `volleyball`;
- `"quoted words"` must occur together, in this order (the last one a prefix);
- `OR` (upper case) between two words or phrases accepts either: `pub OR quiz`
  (it binds tighter than the implicit AND: `jazz pub OR bar` = jazz AND (pub OR bar));
- a leading `-` excludes: `concert -jazz`, `-"sold out"`;
- accents and case never matter (`cafe` finds `Café`), punctuation separates words
  (`e-mail` is the phrase `"e mail"`), and markup of descriptions is never searched;
- a query without any word (`%`, `!!!`) finds nothing.

Relevance (`sort=relevance`): each word or phrase searched for (not excluded)
scores 1 when the event contains it and 2 more when its title does; ties by
start time, then id.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from application.plain_text import html_to_text
from domain.countries import country_code

_WORD = re.compile(r"[^\W_]+")
TITLE_POINTS = 2
TEXT_POINTS = 1


def fold(text: str) -> str:
    """Case and accents removed: NFKD, combining marks dropped, casefolded."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", stripped.casefold())


def words(text: str) -> list[str]:
    """The folded words of `text` (letters and digits; everything else separates)."""
    return _WORD.findall(fold(text))


def folded_words(text: str) -> str:
    """The stored search form: folded words joined by single spaces."""
    return " ".join(words(text))


@dataclass(frozen=True, slots=True)
class Phrase:
    """Consecutive words, every one whole but the last, which is a prefix.
    A single word is a phrase of one (so: a word prefix)."""

    words: tuple[str, ...]
    negated: bool = False

    def found_in(self, text: str) -> bool:
        """Whether the phrase occurs in a folded word text (see `folded_words`)."""
        return f" {' '.join(self.words)}" in f" {text}"

    @property
    def like_pattern(self) -> str:
        """A LIKE pattern over `' ' || folded_text`: words hold no `%`, `_` or `\\`."""
        return f"% {' '.join(self.words)}%"


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Groups that must all match; a group matches when any of its phrases does
    (a negated phrase matches when the text lacks it)."""

    groups: tuple[tuple[Phrase, ...], ...]

    @property
    def is_empty(self) -> bool:
        return not self.groups

    @property
    def wanted(self) -> tuple[Phrase, ...]:
        """The phrases searched for (not excluded): what relevance counts."""
        return tuple(p for group in self.groups for p in group if not p.negated)

    def matches(self, text: str) -> bool:
        return all(any(p.found_in(text) != p.negated for p in group) for group in self.groups)

    def relevance(self, title: str, text: str) -> int:
        """Points for a match (title and text as folded word texts)."""
        return sum(
            TEXT_POINTS * p.found_in(text) + TITLE_POINTS * p.found_in(title) for p in self.wanted
        )


_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def parse_query(text: str) -> SearchQuery:
    """`q` as a SearchQuery. Never fails: anything unparseable is just words, and
    a query without words is empty (and finds nothing)."""
    groups: list[list[Phrase]] = []
    join_next = False
    for match in _TOKEN.finditer(text):
        negated, quoted, bare = match.group(1) == "-", match.group(2), match.group(3)
        if bare == "OR":
            join_next = bool(groups)
            continue
        if bare is not None:
            negated = bare.startswith("-") and len(bare) > 1
            quoted = bare[1:] if negated else bare
        phrase_words = tuple(words(quoted or ""))
        if not phrase_words:
            continue
        phrase = Phrase(phrase_words, negated)
        if join_next:
            groups[-1].append(phrase)
        else:
            groups.append([phrase])
        join_next = False
    return SearchQuery(tuple(tuple(group) for group in groups))


def city_prefix(city: str) -> str | None:
    """A city filter, as a prefix of the folded word text of the event's city: the
    city starts with the words given, the last one possibly cut short (`Berl` and
    ` Berlin` find Berlin, `New` finds New York and Newcastle, `new y` New York
    only, `Sao Paulo` São Paulo). None when `city` has no words: such a filter
    finds nothing."""
    return folded_words(city) or None


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """What of an event is searched, as folded word texts."""

    title: str
    text: str


def event_document(*, title: str, description: str, venue: str, city: str) -> SearchDocument:
    """`description` is the stored (sanitized HTML) description: its text is
    searched, never its markup."""
    title_words = folded_words(title)
    rest = (folded_words(part) for part in (html_to_text(description), venue, city))
    return SearchDocument(title=title_words, text=" ".join(w for w in (title_words, *rest) if w))


def country_key(country: str) -> str:
    """How countries compare: by ISO code when `country` is a code or English name
    (`de`, `Germany` -> `de`), else by its folded words."""
    code = country_code(country)
    return folded_words(code if code is not None else country)
