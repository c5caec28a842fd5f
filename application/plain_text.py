"""Sanitized description HTML as plain text: one conversion for search and for mail.

Descriptions are stored as a small allowlisted HTML subset (adapters/html_sanitizer.py).
Whatever reads them as text (the search document, the text/plain mail part, the
calendar entry) goes through `html_to_text`, so markup is never searched and
`<p>pizza and <strong>asyncio</strong>.</p>` reads `pizza and asyncio.`.
"""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser

#: Tags that start a new line (paragraph-like blocks get a blank line around them).
_PARAGRAPHS = frozenset({"p", "blockquote", "pre", "h1", "h2", "h3", "h4", "ul", "ol", "div"})
_SPACES = re.compile(r"[ \t\r\f\v]+")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _PARAGRAPHS:
            self.parts.append("\n\n")
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _PARAGRAPHS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data.replace("\n", " "))


# Pure, and the same description is converted again for every attendee's mail and
# for every seeded row (scale_check): 1,024 recent texts make the repeats free.
@functools.lru_cache(maxsize=1024)
def html_to_text(html: str) -> str:
    """The text of `html`: inline markup vanishes without adding spaces, blocks become
    lines (paragraphs separated by a blank line, list items as `- item`)."""
    if "<" not in html and "&" not in html:
        return " ".join(html.split())
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(collector.parts).split("\n"))
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
