"""What callers send to describe an event, merged into value objects.

Creation and partial updates share these shapes, so a field is validated the
same way whichever route it came through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.countries import country_code
from domain.errors import InvalidValue
from domain.values import Coordinates, Location, TimeWindow


def country_input(text: str) -> str:
    """Events store the ISO 3166-1 alpha-2 code: `DE`, `de` and `Germany` all give `DE`.
    An empty country stays empty; anything else that names no country is refused."""
    if not text.strip():
        return ""
    code = country_code(text)
    if code is None:
        raise InvalidValue(
            "location.country", "must be an ISO 3166-1 alpha-2 code or English country name"
        )
    return code


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationInput:
    """Absent fields keep their current value (or are empty on creation)."""

    venue: str | None = None
    address: str | None = None
    city: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    def merged_into(self, current: Location) -> Location:
        venue = current.venue if self.venue is None else self.venue
        address = current.address if self.address is None else self.address
        city = current.city if self.city is None else self.city
        country = current.country if self.country is None else country_input(self.country)
        coordinates = self._coordinates()
        if coordinates is None and (address, city, country) == (
            current.address,
            current.city,
            current.country,
        ):
            coordinates = current.coordinates  # same address: the old position still holds
        return Location(
            venue=venue, address=address, city=city, country=country, coordinates=coordinates
        )

    def _coordinates(self) -> Coordinates | None:
        if self.latitude is None and self.longitude is None:
            return None
        if self.latitude is None or self.longitude is None:
            raise InvalidValue("location", "latitude and longitude go together")
        return Coordinates(self.latitude, self.longitude)


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowInput:
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    timezone: str | None = None

    @property
    def is_empty(self) -> bool:
        return self.starts_at is None and self.ends_at is None and self.timezone is None

    def merged_into(self, current: TimeWindow | None) -> TimeWindow:
        starts_at = self.starts_at or (current.starts_at if current else None)
        ends_at = self.ends_at or (current.ends_at if current else None)
        timezone = self.timezone or (current.timezone if current else "UTC")
        if starts_at is None or ends_at is None:
            raise InvalidValue("starts_at" if starts_at is None else "ends_at", "is required")
        return TimeWindow(starts_at=starts_at, ends_at=ends_at, timezone=timezone)
