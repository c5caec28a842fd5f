"""Remembering the answer to a request sent with an `Idempotency-Key`.

A record is keyed by (caller, key): keys are scoped to the caller that sent them
and never shared. It starts as a *claim* (the request is running, under a lease)
and becomes the stored *response* once the request has answered; a claim whose
request failed is *released* (deleted), so a retry runs afresh. Every operation
is one short transaction of its own, correct when several server processes share
the storage (docs/adr/0009-idempotency-keys.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

#: How long a key is remembered (from its first use), and a stored answer replayed.
RETENTION = timedelta(hours=24)
#: How long a claim holds its key while its request runs: a process that died
#: mid-request blocks the key this long at most, then a new request takes it over.
LEASE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    #: The response headers that are replayed (lower-case names), in order.
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Claimed:
    """The caller's request may run; `token` proves ownership to complete or release."""

    token: str


@dataclass(frozen=True, slots=True)
class InFlight:
    """The first request with this key is still running (its lease is alive)."""


@dataclass(frozen=True, slots=True)
class Replay:
    response: StoredResponse


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The key was used for a different request (another fingerprint)."""


ClaimOutcome = Claimed | InFlight | Replay | Mismatch


def user_caller(user_id: UUID) -> str:
    """How a signed-in caller is named in the store (an anonymous one: `address:<ip>`)."""
    return f"user:{user_id}"


class IdempotencyStore(Protocol):
    async def claim(
        self, caller: str, key: str, fingerprint: str, *, now: datetime
    ) -> ClaimOutcome:
        """Claim (caller, key) for a request with `fingerprint`, or say why not.

        - no record, or one older than `RETENTION`: a new claim (lease `LEASE`);
        - another fingerprint: `Mismatch` (whatever state the record is in);
        - a stored response: `Replay`;
        - a claim whose lease is alive: `InFlight`; one whose lease ran out is
          taken over (a new token; the old owner can no longer complete it).
        Of any number of concurrent claims of one free key exactly one wins."""
        ...

    async def complete(self, caller: str, key: str, token: str, response: StoredResponse) -> bool:
        """Store the answer of the claim `token`; False if the claim is no longer
        this token's (taken over after its lease ran out): nothing is changed."""
        ...

    async def release(self, caller: str, key: str, token: str) -> bool:
        """Forget the claim `token` (its request did not answer for good), so a
        retry runs afresh; False if the claim is no longer this token's."""
        ...

    async def forget_caller(self, caller: str) -> int:
        """Delete every record of `caller` (their stored answers hold personal data:
        an erased account's go at once, not after `RETENTION`); how many went."""
        ...
