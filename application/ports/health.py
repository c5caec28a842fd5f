"""Probes of the services the application depends on, for the readiness check."""

from __future__ import annotations

from typing import Protocol


class HealthProbe(Protocol):
    """One outside service. `essential`: the service cannot work without it (the
    database), as opposed to one it degrades gracefully without (Redis, whose rate
    limits fall back to per-process counts)."""

    name: str
    essential: bool

    async def check(self) -> bool:
        """True when the service answers now. May raise or hang: the caller bounds
        it and counts either as a failure."""
        ...
