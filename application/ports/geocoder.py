"""Turning an address into coordinates, through some third party, and the
bookkeeping of which events still wait for theirs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.values import Coordinates, Location


class GeocoderUnavailable(Exception):
    """The service failed (timeout, error status, malformed or oversized answer,
    quota): worth asking again later, unlike an address it does not know."""


class Geocoder(Protocol):
    async def locate(self, address: str) -> Coordinates | None:
        """The coordinates of an address; None when the service does not know it.

        Adapters raise `GeocoderUnavailable` when the service failed (older
        callers treated every failure as None; the worker tells them apart so
        that a passing outage is retried and an unknown address is not).
        """
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressToLocate:
    event_id: UUID
    #: The event's location as read; coordinates are stored only while it is unchanged.
    location: Location


class EventLocations(Protocol):
    """Events waiting for coordinates, for the geocoding worker.

    An event waits when it is not cancelled, has an address or a city, has no
    coordinates, and its current address was never tried (or a failed try is
    due again). Changing the address makes it wait again.
    """

    async def awaiting(self, *, limit: int, now: datetime) -> list[AddressToLocate]:
        """Up to `limit` waiting events, oldest first."""
        ...

    async def record_attempt(
        self, address: AddressToLocate, *, now: datetime, retry_at: datetime | None
    ) -> bool:
        """Note that `address` was tried (`retry_at`: ask again then; None: done).
        Nothing changes, and False is returned, if the address changed since."""
        ...
