"""Time and identity: the two things the core must not take from the machine itself."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID


class Clock(Protocol):
    """The current time, always timezone-aware UTC."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """New entity ids: time-ordered UUIDs (version 7), made before anything is stored."""

    def new_id(self) -> UUID: ...
