"""EVENTAPI_REMINDER_BEFORE: whole seconds, or a number with s, m, h or d."""

from __future__ import annotations

from datetime import timedelta

import pytest

from entrypoints.settings import ConfigurationError, Settings


def before(value: str | None) -> timedelta:
    env = {} if value is None else {"EVENTAPI_REMINDER_BEFORE": value}
    return Settings.from_environment(env).worker.reminder_before


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, timedelta(hours=24)),
        ("3600", timedelta(hours=1)),
        ("45s", timedelta(seconds=45)),
        ("90m", timedelta(minutes=90)),
        (" 2H ", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("366d", timedelta(days=366)),
    ],
)
def test_accepted_forms(value: str | None, expected: timedelta) -> None:
    assert before(value) == expected


@pytest.mark.parametrize(
    "value", ["", "0", "0m", "-5m", "1.5h", "90 minutes", "1w", "h", "367d", "1h30m"]
)
def test_anything_else_stops_the_service_with_the_variable_named(value: str) -> None:
    with pytest.raises(ConfigurationError, match="EVENTAPI_REMINDER_BEFORE"):
        before(value)
