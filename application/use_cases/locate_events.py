from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from application.ports.geocoder import (
    AddressToLocate,
    EventLocations,
    Geocoder,
    GeocoderUnavailable,
)
from application.ports.system import Clock
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.event import EventStatus
from domain.values import Coordinates


@dataclass(frozen=True, slots=True)
class LocateReport:
    tried: int = 0
    located: int = 0
    #: The geocoder failed; the rest of the batch was left for later.
    unavailable: bool = False


class LocateEvents:
    """Give events without coordinates the position of their address.

    - Runs in the worker after the event was saved, never in a request: a slow
      or failing third party delays coordinates and fails nothing.
    - The geocoder is asked outside any transaction; the answer is stored in a
      short unit of work of its own, and only if the event still has the same
      address and still no coordinates (coordinates an organizer gave win).
    - An address the service does not know is not asked again until it
      changes; a failure of the service is retried after `retry_after`, and
      ends the batch.
    - Storing coordinates is a change of the event (its revision moves) but not
      of its time or place: nobody is notified.
    """

    def __init__(
        self,
        locations: EventLocations,
        geocoder: Geocoder,
        uow: UnitOfWorkFactory,
        clock: Clock,
        *,
        batch_size: int = 20,
        retry_after: timedelta = timedelta(minutes=15),
    ) -> None:
        self._locations = locations
        self._geocoder = geocoder
        self._uow = uow
        self._clock = clock
        self._batch_size = batch_size
        self._retry_after = retry_after

    async def execute(self) -> LocateReport:
        waiting = await self._locations.awaiting(limit=self._batch_size, now=self._clock.now())
        tried = located = 0
        for address in waiting:
            tried += 1
            try:
                coordinates = await self._geocoder.locate(address.location.geocodable_address)
            except GeocoderUnavailable:
                now = self._clock.now()
                await self._locations.record_attempt(
                    address, now=now, retry_at=now + self._retry_after
                )
                return LocateReport(tried=tried, located=located, unavailable=True)
            if coordinates is not None and await self._store(address, coordinates):
                located += 1
            await self._locations.record_attempt(address, now=self._clock.now(), retry_at=None)
        return LocateReport(tried=tried, located=located)

    async def _store(self, address: AddressToLocate, coordinates: Coordinates) -> bool:
        async with self._uow() as uow:
            event = await uow.events.get_for_update(address.event_id)
            if (
                event is None
                or event.status is EventStatus.CANCELLED
                or event.location.coordinates is not None
                or event.location.geocodable_address != address.location.geocodable_address
            ):
                return False
            event.revise(
                now=self._clock.now(), location=replace(event.location, coordinates=coordinates)
            )
            await uow.events.save(event)
            await uow.commit()
        return True
