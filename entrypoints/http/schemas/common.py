from __future__ import annotations

import unicodedata
from typing import TypeVar

from msgspec import UNSET, UnsetType

T = TypeVar("T")


def given(value: T | UnsetType) -> T | None:
    """None for a field the client left out, its value otherwise."""
    return None if isinstance(value, UnsetType) else value


__all__ = ["NOT_BLANK", "PRINTABLE", "UNSET", "UnsetType", "given"]


def _unprintable_class() -> str:
    """The Basic Multilingual Plane's control, format and private-use characters (the
    ones domain.values.is_printable refuses), as a regex class body of `\\uXXXX`
    ranges: the escape both JSON Schema (ECMA-262) and Python read alike. Astral
    format and private-use characters are beyond it (see test_schemathesis.REFUSALS)."""
    allowed = {0x200C, 0x200D, 0x00AD}  # domain.values._ALLOWED_FORMAT
    codes = [
        code
        for code in range(0x10000)
        if unicodedata.category(chr(code)) in {"Cc", "Cf", "Co"} and code not in allowed
    ]
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(
        f"\\u{start:04x}" if start == end else f"\\u{start:04x}-\\u{end:04x}"
        for start, end in ranges
    )


_UNPRINTABLE = _unprintable_class()
#: Text without control characters (domain.values.plain_text).
PRINTABLE = f"^[^{_UNPRINTABLE}]*$"
#: The same, and more than white space (plain_text strips it before the length check).
NOT_BLANK = f"^\\s*[^\\s{_UNPRINTABLE}][^{_UNPRINTABLE}]*$"
