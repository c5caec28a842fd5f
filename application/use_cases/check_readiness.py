"""Whether this process can serve requests now, and what each service says."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from application.ports.health import HealthProbe

log = logging.getLogger("eventapi.health")

PROBE_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    #: Probe name -> "ok", "unavailable" (an essential service) or "degraded".
    checks: dict[str, str]


class CheckReadiness:
    """Rules:

    - every probe runs at once, each bounded by `timeout_seconds`; raising or not
      answering in time counts as failing (the reason goes to the log, never out);
    - a failing essential probe is "unavailable" and makes the process not ready;
    - a failing non-essential probe is "degraded" and is only reported.
    """

    def __init__(
        self, probes: Sequence[HealthProbe], *, timeout_seconds: float = PROBE_SECONDS
    ) -> None:
        self._probes = tuple(probes)
        self._timeout = timeout_seconds

    async def execute(self) -> Readiness:
        answers = await asyncio.gather(*(self._answers(probe) for probe in self._probes))
        checks = {
            probe.name: "ok" if ok else "unavailable" if probe.essential else "degraded"
            for probe, ok in zip(self._probes, answers, strict=True)
        }
        return Readiness(ready="unavailable" not in checks.values(), checks=checks)

    async def _answers(self, probe: HealthProbe) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                return await probe.check()
        except Exception as exc:
            log.warning("readiness: %s does not answer (%s)", probe.name, type(exc).__name__)
            return False
