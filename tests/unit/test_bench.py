"""The benchmark's own logic (bench/): what it sends, and how it judges the results.

The full harness runs in CI as `python -m bench --smoke` (.ci/run); these check
the parts that decide whether a number is right without starting anything.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import scenarios
from bench.ceiling import _decode_cursor, cursor_fingerprint, encode_cursor
from bench.data import Fixtures
from bench.load import Measurement, Request, write_requests
from bench.report import Result, comparison

KEY = b"k" * 32


def measured(rate: float, p99_ms: float) -> Result:
    return Result([Measurement(int(rate * 10), 10.0, 1.0, p99_ms, 0, {}, 0)])


def test_a_request_is_one_tab_separated_line(tmp_path: Path) -> None:
    request = Request("POST", "/x", {"Authorization": "Bearer t", "If-None-Match": '"e"'}, "a=b")
    write_requests(tmp_path / "r.tsv", [request, Request("GET", "/y")])
    assert (tmp_path / "r.tsv").read_text().splitlines() == [
        'POST\t/x\tAuthorization: Bearer t | If-None-Match: "e"\ta=b',
        "GET\t/y\t\t",
    ]


def test_a_scenario_without_requests_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no requests"):
        write_requests(tmp_path / "r.tsv", [])


def test_comparison_needs_the_ratio_and_the_p99_rule() -> None:
    ceiling = measured(1000, 100)
    assert comparison("a", measured(800, 150), ceiling, at_least=0.75).passed is True
    assert comparison("b", measured(700, 100), ceiling, at_least=0.75).passed is False
    slow = comparison("c", measured(900, 151), ceiling, at_least=0.75)
    assert slow.passed is False
    assert "p99 1.5x" in slow.note


def test_a_ratio_may_be_taken_against_another_ceiling() -> None:
    row = comparison(
        "signed in", measured(600, 10), measured(2000, 10), at_least=0.6, against=measured(1000, 10)
    )
    assert row.ratio == pytest.approx(0.6)
    assert row.passed is True


def test_ceiling_cursors_are_bound_to_their_filters() -> None:
    at, event = datetime(2031, 5, 1, 12, tzinfo=UTC), uuid.uuid4()
    fingerprint = cursor_fingerprint({"city": "x", "limit": "5"})
    cursor = encode_cursor(KEY, at, event, fingerprint)
    assert _decode_cursor(KEY, cursor, cursor_fingerprint({"city": "x"})) == (at, event)
    with pytest.raises(ValueError, match="bad cursor"):
        _decode_cursor(KEY, cursor, cursor_fingerprint({"city": "y"}))


class FakeTokens(scenarios.Tokens):
    def __init__(self, count: int) -> None:
        self.count = count

    def mint(self) -> list[str]:
        return [f"token-{n}" for n in range(self.count)]


def test_spread_joins_never_repeat_a_user_and_event_over_all_runs() -> None:
    users, runs, seconds = 50, 3, 1
    events = scenarios.spread_events_needed(users, runs, seconds)
    fixtures = Fixtures(
        attendees=[],
        sessions=[(uuid.uuid4(), uuid.uuid4()) for _ in range(users)],
        spread_events=[uuid.uuid4() for _ in range(events)],
        hot_events=[],
        hot_capacity=1,
        published=[],
    )
    build = scenarios.join_spread(FakeTokens(users), fixtures, seconds)
    pairs = [
        (request.path, request.headers["Authorization"])
        for run in range(runs)
        for kind in (scenarios.EVENTAPI, scenarios.CEILING)
        for request in build(kind, run)
    ]
    assert len(pairs) == len(set(pairs)) == 2 * runs * scenarios.MAX_JOINS_PER_SECOND * seconds
