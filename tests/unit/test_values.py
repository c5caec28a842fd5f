"""Value objects validate themselves on construction and compare by value."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.errors import InvalidValue
from domain.values import (
    MAX_CAPACITY,
    Capacity,
    Coordinates,
    EmailAddress,
    Location,
    PasswordPolicy,
    TimeWindow,
    plain_text,
)

START = datetime(2030, 6, 1, 18, 0, tzinfo=UTC)
CONTROL = ("\x00", "\x07", "\n", "\t", "\x1b", "\x7f", "\u200b", "\u202e", "\ue000")

# -- email -------------------------------------------------------------------------------


def test_an_email_address_is_stored_trimmed_and_lower_cased() -> None:
    email = EmailAddress("  Ada.Lovelace@Example.ORG ")

    assert email.value == "ada.lovelace@example.org"
    assert str(email) == "ada.lovelace@example.org"
    assert email == EmailAddress("ada.lovelace@example.org")


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "   ",
        "ada",
        "ada@",
        "@example.org",
        "ada@example",
        "ada@example.",
        "ada@@example.org",
        "ada lovelace@example.org",
        "ada@exam ple.org",
        "ada@example.org\nBcc: eve@example.org",
    ],
)
def test_junk_is_not_an_email_address(junk: str) -> None:
    with pytest.raises(InvalidValue) as raised:
        EmailAddress(junk)

    assert raised.value.field == "email"


@pytest.mark.parametrize("control", ["\x00", "\x08", "\x1b", "\x7f"])
def test_an_email_address_with_control_characters_is_rejected(control: str) -> None:
    with pytest.raises(InvalidValue):
        EmailAddress(f"ada{control}lovelace@example.org")


def test_an_email_address_is_at_most_254_characters() -> None:
    domain = "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".org"
    longest = "a" * 64 + domain  # 64 is the longest local part (RFC 5321)
    assert len(longest) == 254

    assert EmailAddress(longest).value == longest
    with pytest.raises(InvalidValue):
        EmailAddress("a" + longest)


@given(st.emails())
def test_email_addresses_differing_only_in_case_are_equal(address: str) -> None:
    assume(len(address) <= 254)

    assert EmailAddress(address.upper()) == EmailAddress(address)
    assert EmailAddress(address).value == address.lower()


# -- capacity ------------------------------------------------------------------------------


@given(st.integers(min_value=-10, max_value=MAX_CAPACITY + 10) | st.integers())
def test_capacity_is_one_to_a_hundred_thousand(seats: int) -> None:
    if 1 <= seats <= MAX_CAPACITY:
        assert Capacity(seats).value == seats
    else:
        with pytest.raises(InvalidValue) as raised:
            Capacity(seats)
        assert raised.value.field == "capacity"


@pytest.mark.parametrize("seats", [1, MAX_CAPACITY])
def test_the_capacity_bounds_are_inclusive(seats: int) -> None:
    assert Capacity(seats).value == seats


@pytest.mark.parametrize("flag", [True, False])
def test_a_boolean_is_not_a_capacity(flag: bool) -> None:
    with pytest.raises(InvalidValue):
        Capacity(flag)


# -- coordinates ---------------------------------------------------------------------------

latitudes = st.floats(min_value=-90, max_value=90)
longitudes = st.floats(min_value=-180, max_value=180)
coordinates = st.builds(Coordinates, latitudes, longitudes)


@pytest.mark.parametrize(("latitude", "longitude"), [(-90, -180), (90, 180), (0, 0)])
def test_coordinates_on_the_edges_of_the_globe_are_valid(latitude: float, longitude: float) -> None:
    assert Coordinates(latitude, longitude) == Coordinates(latitude, longitude)


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"),
    [
        (90.000001, 0, "location.latitude"),
        (-90.5, 0, "location.latitude"),
        (math.nan, 0, "location.latitude"),
        (math.inf, 0, "location.latitude"),
        (0, 180.000001, "location.longitude"),
        (0, -181, "location.longitude"),
        (0, math.nan, "location.longitude"),
        (0, -math.inf, "location.longitude"),
    ],
)
def test_coordinates_off_the_globe_are_rejected(
    latitude: float, longitude: float, field: str
) -> None:
    with pytest.raises(InvalidValue) as raised:
        Coordinates(latitude, longitude)

    assert raised.value.field == field


def test_the_distance_between_berlin_and_paris_is_about_878_km() -> None:
    berlin, paris = Coordinates(52.5200, 13.4050), Coordinates(48.8566, 2.3522)

    assert berlin.distance_km(paris) == pytest.approx(877.5, abs=1.0)


@given(coordinates, coordinates)
def test_distance_is_symmetric_non_negative_and_at_most_half_the_globe(
    here: Coordinates, there: Coordinates
) -> None:
    distance = here.distance_km(there)

    assert distance == pytest.approx(there.distance_km(here), abs=1e-9)
    assert 0 <= distance <= math.pi * 6371.0088 + 1e-6


@given(coordinates)
def test_a_place_is_no_distance_from_itself(here: Coordinates) -> None:
    assert here.distance_km(Coordinates(here.latitude, here.longitude)) == 0


# -- location ------------------------------------------------------------------------------

LOCATION_LIMITS = [("venue", 200), ("address", 500), ("city", 100), ("country", 100)]


def test_a_location_strips_and_composes_its_parts() -> None:
    location = Location(venue="  c-base ", address="\tRungestraße 20\n", city="Cafe\u0301 town")

    assert location.venue == "c-base"
    assert location.address == "Rungestraße 20"
    assert location.city == "Caf\u00e9 town"


@pytest.mark.parametrize(("part", "limit"), LOCATION_LIMITS)
def test_a_location_part_is_limited_in_length(part: str, limit: int) -> None:
    longest: dict[str, Any] = {part: "x" * limit}
    too_long: dict[str, Any] = {part: "x" * (limit + 1)}

    assert getattr(replace(Location(), **longest), part) == "x" * limit
    with pytest.raises(InvalidValue) as raised:
        replace(Location(), **too_long)

    assert raised.value.field == f"location.{part}"


@pytest.mark.parametrize(("part", "limit"), LOCATION_LIMITS)
@pytest.mark.parametrize("control", CONTROL)
def test_a_location_part_rejects_control_characters(part: str, limit: int, control: str) -> None:
    changes: dict[str, Any] = {part: f"Main{control}Street"}

    with pytest.raises(InvalidValue) as raised:
        replace(Location(), **changes)

    assert raised.value.field == f"location.{part}"


def test_the_same_place_ignores_coordinates_and_geocoding_skips_empty_parts() -> None:
    here = Location(venue="c-base", city="Berlin", country="DE", coordinates=Coordinates(52, 13))
    moved_pin = Location(venue="c-base", city="Berlin", country="DE")
    elsewhere = Location(venue="c-base", city="Hamburg", country="DE")

    assert here.same_place(moved_pin)
    assert not here.same_place(elsewhere)
    assert here.geocodable_address == "Berlin, DE"


# -- time window ---------------------------------------------------------------------------


def test_a_time_window_is_kept_in_utc_with_its_display_zone() -> None:
    berlin_summer = timezone(timedelta(hours=2))
    span = TimeWindow(
        starts_at=datetime(2030, 6, 1, 20, 0, tzinfo=berlin_summer),
        ends_at=datetime(2030, 6, 1, 22, 0, tzinfo=berlin_summer),
        timezone="Europe/Berlin",
    )

    assert span.starts_at == datetime(2030, 6, 1, 18, 0, tzinfo=UTC)
    assert span.starts_at.utcoffset() == timedelta(0)
    assert span.ends_at.utcoffset() == timedelta(0)
    assert (span.starts_at.hour, span.ends_at.hour) == (18, 20)
    assert span.timezone == "Europe/Berlin"


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
def test_a_time_window_needs_offsets(field: str) -> None:
    starts_at, ends_at = START, START + timedelta(hours=1)
    if field == "starts_at":
        starts_at = starts_at.replace(tzinfo=None)
    else:
        ends_at = ends_at.replace(tzinfo=None)

    with pytest.raises(InvalidValue) as raised:
        TimeWindow(starts_at=starts_at, ends_at=ends_at, timezone="UTC")

    assert raised.value.field == field


@pytest.mark.parametrize("ends_at", [START, START - timedelta(seconds=1)])
def test_a_time_window_ends_after_it_starts(ends_at: datetime) -> None:
    with pytest.raises(InvalidValue) as raised:
        TimeWindow(starts_at=START, ends_at=ends_at, timezone="UTC")

    assert raised.value.field == "ends_at"


@pytest.mark.parametrize("name", ["", "Mars/Olympus_Mons", "europe/berlin", "CEST", "../etc/x"])
def test_a_time_window_needs_a_known_time_zone(name: str) -> None:
    with pytest.raises(InvalidValue) as raised:
        TimeWindow(starts_at=START, ends_at=START + timedelta(hours=1), timezone=name)

    assert raised.value.field == "timezone"


def test_the_hosts_local_time_is_not_an_iana_time_zone() -> None:
    # zoneinfo.available_timezones() also lists files of the host's zoneinfo
    # directory; "localtime" means whatever zone the server happens to run in.
    with pytest.raises(InvalidValue) as raised:
        TimeWindow(starts_at=START, ends_at=START + timedelta(hours=1), timezone="localtime")

    assert raised.value.field == "timezone"


def test_an_event_lasts_at_most_366_days() -> None:
    year = timedelta(days=366)

    assert TimeWindow(starts_at=START, ends_at=START + year, timezone="UTC").ends_at == START + year
    with pytest.raises(InvalidValue) as raised:
        TimeWindow(starts_at=START, ends_at=START + year + timedelta(seconds=1), timezone="UTC")

    assert raised.value.field == "ends_at"


def test_a_time_window_has_ended_from_its_end_on() -> None:
    span = TimeWindow(starts_at=START, ends_at=START + timedelta(hours=2), timezone="UTC")

    assert not span.has_ended(START + timedelta(hours=2) - timedelta(microseconds=1))
    assert span.has_ended(START + timedelta(hours=2))


offsets = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
)
aware = st.datetimes(
    # Hypothesis takes naive bounds and attaches the drawn zone itself.
    min_value=datetime(1990, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.timezones() | offsets,
)


@given(aware, aware)
def test_any_two_aware_moments_make_a_window_exactly_when_ordered_and_within_a_year(
    first: datetime, second: datetime
) -> None:
    # Compared as instants: Python compares datetimes of the same zone by wall clock.
    start, end = first.astimezone(UTC), second.astimezone(UTC)
    if start < end <= start + timedelta(days=366):
        span = TimeWindow(starts_at=first, ends_at=second, timezone="UTC")
        assert (span.starts_at, span.ends_at) == (start, end)
        assert span.starts_at.utcoffset() == span.ends_at.utcoffset() == timedelta(0)
    else:
        with pytest.raises(InvalidValue) as raised:
            TimeWindow(starts_at=first, ends_at=second, timezone="UTC")
        assert raised.value.field == "ends_at"


# -- passwords -----------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["x" * 12, "x" * 128, "é" * 12])
def test_a_password_of_12_to_128_characters_is_accepted(password: str) -> None:
    PasswordPolicy().check(password, is_common=False)


@pytest.mark.parametrize("password", ["", "x" * 11, "x" * 129])
def test_a_password_too_short_or_too_long_is_rejected(password: str) -> None:
    with pytest.raises(InvalidValue) as raised:
        PasswordPolicy().check(password, is_common=False)

    assert raised.value.field == "password"
    assert "12 to 128" in raised.value.message


def test_a_common_password_is_rejected_whatever_its_length() -> None:
    with pytest.raises(InvalidValue) as raised:
        PasswordPolicy().check("password1234", is_common=True)

    assert "common" in raised.value.message


def test_a_password_policy_can_have_other_bounds() -> None:
    policy = PasswordPolicy(min_length=4, max_length=6)

    policy.check("abcd", is_common=False)
    with pytest.raises(InvalidValue):
        policy.check("abcdefg", is_common=False)


# -- plain text ----------------------------------------------------------------------------


def test_plain_text_is_stripped_normalised_and_measured_after_stripping() -> None:
    assert plain_text("title", "  Cafe\u0301 \n", min_length=1, max_length=5) == "Caf\u00e9"
    with pytest.raises(InvalidValue) as raised:
        plain_text("title", "   ", min_length=1, max_length=5)

    assert raised.value.field == "title"


@pytest.mark.parametrize("control", CONTROL)
def test_plain_text_rejects_control_characters_inside(control: str) -> None:
    with pytest.raises(InvalidValue) as raised:
        plain_text("title", f"Py{control}Con", min_length=1, max_length=200)

    assert raised.value.field == "title"
    assert "control" in raised.value.message


printable = st.text(
    alphabet=st.characters(exclude_categories=["Cc", "Cf", "Cs", "Co"]), max_size=50
)


@given(printable)
def test_plain_text_keeps_printable_text_apart_from_surrounding_space(text: str) -> None:
    expected = unicodedata.normalize("NFC", text).strip()
    assume(not any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in expected))

    assert plain_text("title", text, min_length=0, max_length=1000) == expected


@given(printable, st.characters(categories=["Cc"]), printable)
def test_a_control_character_between_words_is_always_rejected(
    before: str, control: str, after: str
) -> None:
    with pytest.raises(InvalidValue):
        plain_text("title", f"a{before}{control}{after}z", min_length=0, max_length=1000)
