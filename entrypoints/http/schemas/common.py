from __future__ import annotations

from typing import TypeVar

from msgspec import UNSET, UnsetType

T = TypeVar("T")


def given(value: T | UnsetType) -> T | None:
    """None for a field the client left out, its value otherwise."""
    return None if isinstance(value, UnsetType) else value


__all__ = ["UNSET", "UnsetType", "given"]
