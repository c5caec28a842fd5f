"""Readiness: the essential probes decide, the others are reported; none may hang it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from application.use_cases.check_readiness import CheckReadiness


@dataclass
class Probe:
    name: str
    essential: bool
    answer: bool | Exception | None = True  # None: never answers

    async def check(self) -> bool:
        if self.answer is None:
            await asyncio.Event().wait()
        if isinstance(self.answer, Exception):
            raise self.answer
        return bool(self.answer)


async def test_ready_when_every_probe_answers() -> None:
    readiness = await CheckReadiness([Probe("database", True), Probe("redis", False)]).execute()

    assert readiness.ready
    assert readiness.checks == {"database": "ok", "redis": "ok"}


async def test_a_failing_essential_probe_makes_it_unavailable() -> None:
    probes = [Probe("database", True, ConnectionRefusedError()), Probe("redis", False)]

    readiness = await CheckReadiness(probes).execute()

    assert not readiness.ready
    assert readiness.checks == {"database": "unavailable", "redis": "ok"}


async def test_a_failing_reported_probe_only_degrades_it() -> None:
    probes = [Probe("database", True), Probe("redis", False, False)]

    readiness = await CheckReadiness(probes).execute()

    assert readiness.ready
    assert readiness.checks == {"database": "ok", "redis": "degraded"}


async def test_a_probe_that_never_answers_counts_as_failing_after_the_timeout() -> None:
    probes = [Probe("database", True, None), Probe("smtp", False, None)]

    async with asyncio.timeout(5):
        readiness = await CheckReadiness(probes, timeout_seconds=0.05).execute()

    assert readiness.checks == {"database": "unavailable", "smtp": "degraded"}
    assert not readiness.ready
