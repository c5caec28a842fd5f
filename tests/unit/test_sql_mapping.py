"""Row mapping: the write side rebuilds aggregates through the domain's checks,
the read side maps stored rows straight into views (issue 11: re-validating every
character of every listed event was 6 % of a listing's CPU)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from adapters.sql.mapping import event_from_row, event_values, event_view_from_row
from domain.errors import InvalidValue
from domain.values import Coordinates, Location

STARTS = datetime(2030, 1, 1, 18, tzinfo=UTC)


def row(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": uuid4(),
        "organizer_id": uuid4(),
        "organizer_name": "Olga Organizer",
        "title": "Evening talks",
        "description": "<p>Talks</p>",
        "venue": "Hall",
        "address": "Main Street 1",
        "city": "Berlin",
        "country": "DE",
        "latitude": 52.5,
        "longitude": 13.4,
        "starts_at": STARTS,
        "ends_at": STARTS + timedelta(hours=2),
        "timezone": "Europe/Berlin",
        "capacity": 10,
        "waitlist_enabled": True,
        "status": "published",
        "attendee_count": 3,
        "waitlist_count": 0,
        "tickets_issued": 0,
        "sequence": 1,
        "cancel_reason": None,
        "revision": 2,
        "created_at": STARTS - timedelta(days=9),
        "updated_at": STARTS - timedelta(days=8),
    }
    values.update(overrides)
    return values


def test_a_view_carries_the_same_values_as_the_validated_aggregate() -> None:
    stored = row()
    view = event_view_from_row(stored)  # type: ignore[arg-type]
    event = event_from_row(stored)  # type: ignore[arg-type]
    assert view.location == event.location
    assert view.location == Location(
        venue="Hall",
        address="Main Street 1",
        city="Berlin",
        country="DE",
        coordinates=Coordinates(52.5, 13.4),
    )
    assert hash(view.location) == hash(event.location)
    assert event_values(event)["city_key"] == "berlin"
    no_place = event_view_from_row(row(latitude=None, longitude=None))  # type: ignore[arg-type]
    assert no_place.location.coordinates is None


def test_only_the_write_side_runs_the_domain_checks_again() -> None:
    # A value our own writes would never have stored: the aggregate refuses it, the
    # view (a read of what is stored) does not spend time checking it again.
    stored = row(city="x" * 101)
    with pytest.raises(InvalidValue):
        event_from_row(stored)  # type: ignore[arg-type]
    assert event_view_from_row(stored).location.city == "x" * 101  # type: ignore[arg-type]
