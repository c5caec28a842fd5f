"""User enumeration through sign-in (OWASP API2:2023, ASVS V2.2): an unknown email
and a known email with the wrong password get the same status, the same body,
the same headers (but the request id), and the same time.

Timing: 200 sign-ins of each kind, interleaved (so that drift in the machine's
load hits both alike), each timed with `time.perf_counter` around the HTTP call
through the in-process client; the medians must be within 10 % of each other.
bcrypt runs at cost 8 (the production default is 12, ~16x slower, which would
make 800 checks take minutes; the equal-time property does not depend on the
cost, since an unknown email is checked against a dummy hash of the same cost)
and request rate limits are off, as a 429 would end the measurement.

`EVENTAPI_TEST_ENUMERATION_REPORT=path` appends the measured medians there.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import API, Api

TRIES = 200
WARM_UP = 10
TOLERANCE = 0.10
VOLATILE_HEADERS = {"x-request-id", "date", "content-length"}


@pytest.fixture
def settings_overrides() -> Mapping[str, str]:
    return {"EVENTAPI_BCRYPT_ROUNDS": "8", "EVENTAPI_RATE_LIMITS": "off"}


def append_line(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(line + "\n")


def comparable(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in VOLATILE_HEADERS}
    return response.status_code, response.content, headers


async def test_unknown_email_and_wrong_password_are_indistinguishable(
    api: Api, record_property: Any
) -> None:
    known = await api.user()
    unknown_email = api.email("nobody")

    async def sign_in(email: str) -> tuple[float, httpx.Response]:
        form = {"grant_type": "password", "username": email, "password": "wrong password, long"}
        started = time.perf_counter()
        response = await api.client.post(f"{API}/auth/token", data=form)
        return time.perf_counter() - started, response

    for _ in range(WARM_UP):
        await sign_in(known.email)
        await sign_in(unknown_email)
    unknown_times: list[float] = []
    wrong_times: list[float] = []
    answers: set[tuple[str, tuple[int, bytes, tuple[tuple[str, str], ...]]]] = set()
    for attempt in range(TRIES):
        # Alternate which goes first, so neither always follows the other.
        order = [(unknown_email, unknown_times), (known.email, wrong_times)]
        for email, times in order if attempt % 2 == 0 else order[::-1]:
            elapsed, response = await sign_in(email)
            times.append(elapsed)
            status, body, headers = comparable(response)
            answers.add((email, (status, body, tuple(sorted(headers.items())))))

    by_kind = dict(answers)
    assert len(answers) == 2, "each kind got more than one distinct answer"
    assert by_kind[unknown_email] == by_kind[known.email]
    status, body, _ = by_kind[known.email]
    assert status == 400
    assert b"invalid_grant" in body

    unknown_median = statistics.median(unknown_times)
    wrong_median = statistics.median(wrong_times)
    ratio = unknown_median / wrong_median
    line = (
        f"{api.database}: median unknown email {unknown_median * 1000:.2f} ms, wrong password "
        f"{wrong_median * 1000:.2f} ms, ratio {ratio:.3f} ({TRIES} each, bcrypt cost 8)"
    )
    record_property("enumeration_timing", line)
    if report := os.environ.get("EVENTAPI_TEST_ENUMERATION_REPORT"):
        append_line(Path(report), line)
    assert abs(unknown_median - wrong_median) <= TOLERANCE * max(unknown_median, wrong_median), line


async def test_password_reset_for_an_unknown_address_looks_and_takes_the_same(
    api: Api, record_property: Any
) -> None:
    """POST /auth/password-reset (docs/security.md, "Password reset and e-mail
    verification"): the same status, body and headers, and medians within 10 %,
    for an address with an active account (a token is stored and a mail queued)
    and one without, measured as the sign-in test above measures."""
    known = await api.user()
    unknown_email = api.email("nobody")

    async def ask(email: str) -> tuple[float, httpx.Response]:
        started = time.perf_counter()
        response = await api.client.post(f"{API}/auth/password-reset", json={"email": email})
        return time.perf_counter() - started, response

    for _ in range(WARM_UP):
        await ask(known.email)
        await ask(unknown_email)
    unknown_times: list[float] = []
    known_times: list[float] = []
    answers: set[tuple[str, tuple[int, bytes, tuple[tuple[str, str], ...]]]] = set()
    for attempt in range(TRIES):
        order = [(unknown_email, unknown_times), (known.email, known_times)]
        for email, times in order if attempt % 2 == 0 else order[::-1]:
            elapsed, response = await ask(email)
            times.append(elapsed)
            status, body, headers = comparable(response)
            answers.add((email, (status, body, tuple(sorted(headers.items())))))

    by_kind = dict(answers)
    assert len(answers) == 2, "each kind got more than one distinct answer"
    assert by_kind[unknown_email] == by_kind[known.email]
    assert by_kind[known.email][0] == 202

    unknown_median = statistics.median(unknown_times)
    known_median = statistics.median(known_times)
    ratio = unknown_median / known_median
    line = (
        f"{api.database}: password reset, median unknown address {unknown_median * 1000:.2f} ms, "
        f"known address {known_median * 1000:.2f} ms, ratio {ratio:.3f} ({TRIES} each)"
    )
    record_property("enumeration_timing", line)
    if report := os.environ.get("EVENTAPI_TEST_ENUMERATION_REPORT"):
        append_line(Path(report), line)
    assert abs(unknown_median - known_median) <= TOLERANCE * max(unknown_median, known_median), line
