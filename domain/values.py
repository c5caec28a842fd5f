"""Value objects: frozen, validated on construction, compared by value."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.errors import HeaderParseError
from email.headerregistry import Address
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from domain.errors import InvalidValue

MAX_CAPACITY = 100_000
#: A plain RFC 5322 addr-spec, ASCII only: a dot-atom local part (no quoted strings,
#: no comments) and a host name of letter-digit-hyphen labels, without a trailing dot.
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_TOP_LABEL = r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?:{_LABEL}\.)+{_TOP_LABEL}")
#: Event times: years 1970 to 2200 wherever the event is. A day's margin at each end
#: covers every zone's offset, so each of them shows a date inside those years (and
#: every date computation on them stays far from `datetime`'s limits).
FIRST_YEAR = 1970
LAST_YEAR = 2200
EARLIEST_MOMENT = datetime(FIRST_YEAR, 1, 2, tzinfo=UTC)
LATEST_MOMENT = datetime(LAST_YEAR, 12, 30, tzinfo=UTC)
MAX_LATITUDE = 90
MAX_LONGITUDE = 180
#: The longest each part of an address may be.
LOCATION_LIMITS = {"venue": 200, "address": 500, "city": 100, "country": 100}
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
    try:
        return moment.astimezone(ZoneInfo("UTC"))
    except OverflowError:  # e.g. 0001-01-01T00:00+14:00, before the first datetime
        raise InvalidValue(field, _OUTSIDE_YEARS) from None


_OUTSIDE_YEARS = f"must be in the years {FIRST_YEAR} to {LAST_YEAR}"


def require_event_time(field: str, moment: datetime) -> datetime:
    """A UTC instant within the years events may happen in (see `EARLIEST_MOMENT`)."""
    utc = require_utc(field, moment)
    if not EARLIEST_MOMENT <= utc <= LATEST_MOMENT:
        raise InvalidValue(field, _OUTSIDE_YEARS)
    return utc


@dataclass(frozen=True, slots=True)
class EmailAddress:
    """An email address, compared case-insensitively (stored lower-cased).

    Only a plain addr-spec that the mail library reads back unchanged: no comments
    (`victim@example.org(1)` is victim@example.org to every mail server, so it would
    be a second account receiving the victim's mail), no quoted local parts, no group
    syntax, no trailing dot. ASCII only: fullwidth look-alikes and raw IDN domains
    are refused, not converted. The standard library only knows IDNA 2003, which maps
    some names (`faß.de` to `fass.de`) to another domain than IDNA 2008 does, i.e.
    possibly someone else's; a client that means an IDN domain sends its `xn--` form.
    """

    value: str

    def __post_init__(self) -> None:
        normalized = self.value.strip().lower()
        if not (
            self.value.isascii()  # before lower(): "\u212a" (Kelvin) lower-cases to "k"
            and len(normalized) <= 254
            and (plain := _EMAIL.fullmatch(normalized)) is not None
            and len(plain["local"]) <= 64
            and _reproduced(normalized)
        ):
            raise InvalidValue("email", "is not a valid email address")
        object.__setattr__(self, "value", normalized)

    def __str__(self) -> str:
        return self.value


def _reproduced(addr_spec: str) -> bool:
    """The mail library parses the address back to exactly the same text."""
    try:
        return Address(addr_spec=addr_spec).addr_spec == addr_spec
    except (ValueError, IndexError, HeaderParseError):
        return False


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
        object.__setattr__(self, "starts_at", require_event_time("starts_at", self.starts_at))
        object.__setattr__(self, "ends_at", require_event_time("ends_at", self.ends_at))
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


#: The widest lengths a deployment may configure (EVENTAPI_PASSWORD_MIN/MAX_LENGTH).
SHORTEST_PASSWORD_POLICY = 8
LONGEST_PASSWORD_POLICY = 1024


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """Length, not composition (NIST 800-63B); never a commonly used password."""

    min_length: int = 12
    max_length: int = 128

    def check(self, password: str, *, is_common: bool) -> None:
        """`is_common` is the common-list verdict; the list compares a normalised
        form (surrounding space, case and width do not make a password new)."""
        if any(unicodedata.category(ch) == "Cc" for ch in password):
            raise InvalidValue("password", "must not contain control characters")
        if not self.min_length <= len(password) <= self.max_length:
            raise InvalidValue(
                "password", f"must be {self.min_length} to {self.max_length} characters"
            )
        if is_common:
            raise InvalidValue("password", "is too common; choose another")
