"""Allowlist HTML sanitizing with nh3 (Rust's ammonia): well kept, fast, and
strict by default about scripts, event handlers and `javascript:` URLs."""

from __future__ import annotations

import nh3

from application.ports.security import HtmlSanitizer

_TAGS = frozenset(
    {"a", "b", "blockquote", "br", "code", "em", "h3", "h4", "i", "li", "ol", "p", "pre"}
    | {"strong", "ul"}
)


class Nh3Sanitizer(HtmlSanitizer):
    """Keeps a small formatting subset; links get `rel="noopener noreferrer nofollow"`
    and only http(s)/mailto URLs."""

    def clean(self, html: str) -> str:
        return nh3.clean(
            html,
            tags=set(_TAGS),
            attributes={"a": {"href", "title"}},
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer nofollow",
            strip_comments=True,
        )
