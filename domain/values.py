"""Value objects: frozen, validated on construction, compared by value."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from domain.errors import InvalidValue

MAX_CAPACITY = 100_000
MAX_LATITUDE = 90
MAX_LONGITUDE = 180
#: The longest each part of an address may be.
LOCATION_LIMITS = {"venue": 200, "address": 500, "city": 100, "country": 100}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: zoneinfo also lists the host's own "localtime" (and "posixrules"): not IANA names.
_TIMEZONES = frozenset(available_timezones()) - {"localtime", "posixrules", "Factory"}
#: Format characters that belong in real text: zero-width (non-)joiners (emoji
#: sequences, Indic and Persian scripts) and the soft hyphen. Bidi overrides and
#: other invisible controls stay forbidden.
_ALLOWED_FORMAT = frozenset({"\u200c", "\u200d", "\u00ad"})


def plain_text(field: str, value: str, *, min_length: int, max_length: int) -> str:
    """Strip surrounding space and reject control characters and bad lengths."""
    text = unicodedata.normalize("NFC", value).strip()
    if not is_printable(text):
        raise InvalidValue(field, "must not contain control characters")
    if not min_length <= len(text) <= max_length:
        raise InvalidValue(field, f"must be {min_length} to {max_length} characters")
    return text


def is_printable(text: str) -> bool:
    return not any(
        unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} and ch not in _ALLOWED_FORMAT
        for ch in text
    )


def require_utc(field: str, moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidValue(field, "must carry a time zone offset")
    return moment.astimezone(ZoneInfo("UTC"))


@dataclass(frozen=True, slots=True)
class EmailAddress:
    """An email address, compared case-insensitively (stored lower-cased)."""

    value: str

    def __post_init__(self) -> None:
        normalized = self.value.strip().lower()
        if len(normalized) > 254 or not _EMAIL.match(normalized) or not is_printable(normalized):
            raise InvalidValue("email", "is not a valid email address")
        object.__setattr__(self, "value", normalized)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Capacity:
    value: int

    def __post_init__(self) -> None:
        if type(self.value) is not int or not 1 <= self.value <= MAX_CAPACITY:
            raise InvalidValue("capacity", f"must be 1 to {MAX_CAPACITY}")


@dataclass(frozen=True, slots=True)
class Coordinates:
    latitude: float
    longitude: float

    def __post_init__(self) -> None:
        for name, limit in (("latitude", MAX_LATITUDE), ("longitude", MAX_LONGITUDE)):
            value = getattr(self, name)
            if not (math.isfinite(value) and -limit <= value <= limit):
                raise InvalidValue(f"location.{name}", f"must be between -{limit} and {limit}")

    def distance_km(self, other: Coordinates) -> float:
        """Great-circle distance (haversine, mean Earth radius)."""
        lat1, lat2 = math.radians(self.latitude), math.radians(other.latitude)
        dlat = lat2 - lat1
        dlng = math.radians(other.longitude - self.longitude)
        h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
        return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class Location:
    venue: str = ""
    address: str = ""
    city: str = ""
    country: str = ""
    coordinates: Coordinates | None = None

    def __post_init__(self) -> None:
        for name, limit in LOCATION_LIMITS.items():
            value = getattr(self, name)
            text = plain_text(f"location.{name}", value, min_length=0, max_length=limit)
            object.__setattr__(self, name, text)

    def same_place(self, other: Location) -> bool:
        return (self.venue, self.address, self.city, self.country) == (
            other.venue,
            other.address,
            other.city,
            other.country,
        )

    @property
    def geocodable_address(self) -> str:
        return ", ".join(part for part in (self.address, self.city, self.country) if part)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """When an event happens: UTC instants plus the IANA zone to display them in."""

    starts_at: datetime
    ends_at: datetime
    timezone: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts_at", require_utc("starts_at", self.starts_at))
        object.__setattr__(self, "ends_at", require_utc("ends_at", self.ends_at))
        if self.timezone not in _TIMEZONES:
            raise InvalidValue("timezone", "is not a known IANA time zone")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidValue("timezone", "is not a known IANA time zone") from exc
        if self.ends_at <= self.starts_at:
            raise InvalidValue("ends_at", "must be after starts_at")
        if self.ends_at - self.starts_at > timedelta(days=366):
            raise InvalidValue("ends_at", "an event lasts at most a year")

    def has_ended(self, now: datetime) -> bool:
        return now >= self.ends_at


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """Length, not composition (NIST 800-63B); never a commonly used password."""

    min_length: int = 12
    max_length: int = 128

    def check(self, password: str, *, is_common: bool) -> None:
        if not self.min_length <= len(password) <= self.max_length:
            raise InvalidValue(
                "password", f"must be {self.min_length} to {self.max_length} characters"
            )
        if is_common:
            raise InvalidValue("password", "is too common; choose another")
