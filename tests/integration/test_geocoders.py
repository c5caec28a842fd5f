"""The Nominatim and Google geocoders against a fake service on loopback that
speaks their real formats: hits, misses, error statuses and bodies, slow and
oversized answers, the cache, the rate gate and the User-Agent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Protocol

import pytest

from adapters.geocoding.google import GoogleGeocoder
from adapters.geocoding.http_lookup import AnswerCache
from adapters.geocoding.nominatim import NominatimGeocoder
from adapters.geocoding.rate_gate import RateGate
from application.ports.geocoder import GeocoderUnavailable
from domain.values import Coordinates
from tests.geocoding_server import (
    GOOGLE_PATH,
    NOMINATIM_PATH,
    Answer,
    GeocodingServer,
    google_result,
    google_status,
    json_answer,
    nominatim_place,
)

USER_AGENT = "eventapi/test (+http://api.test; ops@eventapi.test)"
ADDRESS = "Rungestraße 20, Berlin, DE"
C_BASE = Coordinates(52.5129982, 13.4200658)
CAP = 64 * 1024


class CountingGate(RateGate):
    def __init__(self) -> None:
        super().__init__(0.0)
        self.waits = 0

    async def wait(self) -> None:
        self.waits += 1


class ClosableGeocoder(Protocol):
    async def locate(self, address: str) -> Coordinates | None: ...

    async def aclose(self) -> None: ...


@pytest.fixture
def service() -> Iterator[GeocodingServer]:
    server = GeocodingServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


def nominatim(service: GeocodingServer, **options: object) -> NominatimGeocoder:
    return NominatimGeocoder(
        user_agent=USER_AGENT,
        base_url=service.url,
        timeout=float(options.get("timeout", 5.0)),  # type: ignore[arg-type]
        max_bytes=CAP,
        gate=options.get("gate", CountingGate()),  # type: ignore[arg-type]
    )


def google(service: GeocodingServer, **options: object) -> GoogleGeocoder:
    return GoogleGeocoder(
        api_key="test-key",
        user_agent=USER_AGENT,
        base_url=service.url,
        timeout=float(options.get("timeout", 5.0)),  # type: ignore[arg-type]
        max_bytes=CAP,
    )


PROVIDERS: dict[str, tuple[Callable[..., ClosableGeocoder], str]] = {
    "nominatim": (nominatim, NOMINATIM_PATH),
    "google": (google, GOOGLE_PATH),
}


async def test_nominatim_finds_a_place_asks_politely_and_remembers(
    service: GeocodingServer,
) -> None:
    service.answers[NOMINATIM_PATH] = nominatim_place(C_BASE.latitude, C_BASE.longitude)
    gate = CountingGate()
    geocoder = nominatim(service, gate=gate)
    try:
        assert await geocoder.locate(ADDRESS) == C_BASE
        assert await geocoder.locate("  rungestraße 20,   BERLIN, de ") == C_BASE  # cached
    finally:
        await geocoder.aclose()

    (request,) = service.requests_to(NOMINATIM_PATH)
    assert request.query == {"q": ADDRESS, "format": "jsonv2", "limit": "1"}
    assert request.headers["User-Agent"] == USER_AGENT
    assert gate.waits == 1, "the rate gate is passed for each request, not for cache hits"


async def test_google_finds_a_place_with_its_key(service: GeocodingServer) -> None:
    service.answers[GOOGLE_PATH] = google_result(C_BASE.latitude, C_BASE.longitude)
    geocoder = google(service)
    try:
        assert await geocoder.locate(ADDRESS) == C_BASE
        assert await geocoder.locate(ADDRESS) == C_BASE
    finally:
        await geocoder.aclose()
    (request,) = service.requests_to(GOOGLE_PATH)
    assert request.query == {"address": ADDRESS, "key": "test-key"}
    assert request.headers["User-Agent"] == USER_AGENT


@pytest.mark.parametrize(
    ("provider", "answer"),
    [("nominatim", json_answer([])), ("google", google_status("ZERO_RESULTS"))],
)
async def test_an_unknown_address_is_none_and_is_cached(
    service: GeocodingServer, provider: str, answer: Answer
) -> None:
    build, path = PROVIDERS[provider]
    service.answers[path] = answer
    geocoder: ClosableGeocoder = build(service)
    try:
        assert await geocoder.locate("Nowhere 1") is None
        assert await geocoder.locate("Nowhere 1") is None
    finally:
        await geocoder.aclose()
    assert len(service.requests_to(path)) == 1


FAILURES = [
    ("nominatim", Answer(status=503, body=b"<html>Service Unavailable</html>"), "HTTP 503"),
    ("nominatim", Answer(status=429, body=b"{}"), "HTTP 429"),
    ("nominatim", Answer(status=403, body=b"<html>blocked</html>"), "HTTP 403"),
    ("nominatim", json_answer({"error": "Nominatim unavailable"}), "Nominatim error"),
    ("nominatim", Answer(body=b"<html>oops</html>", content_type="text/html"), "not JSON"),
    ("nominatim", json_answer([{"lat": "91.5", "lon": "13.4"}]), "malformed coordinates"),
    ("nominatim", json_answer([{"lat": "nan", "lon": "13.4"}]), "malformed coordinates"),
    ("nominatim", json_answer({"places": []}), "other than a list"),
    ("google", google_status("OVER_QUERY_LIMIT", "You have exceeded your quota."), "quota"),
    ("google", google_status("REQUEST_DENIED", "The provided API key is invalid."), "invalid"),
    ("google", google_status("UNKNOWN_ERROR"), "UNKNOWN_ERROR"),
    ("google", Answer(status=500, body=b"{}"), "HTTP 500"),
    ("google", json_answer({"status": "OK", "results": [{"geometry": {}}]}), "geometry"),
    (
        "google",
        json_answer(
            {"status": "OK", "results": [{"geometry": {"location": {"lat": 12.0, "lng": 200.0}}}]}
        ),
        "malformed",
    ),
]


@pytest.mark.parametrize(("provider", "answer", "says"), FAILURES)
async def test_failures_are_unavailable_and_never_cached(
    service: GeocodingServer, provider: str, answer: Answer, says: str
) -> None:
    build, path = PROVIDERS[provider]
    service.answers[path] = answer
    geocoder: ClosableGeocoder = build(service)
    try:
        with pytest.raises(GeocoderUnavailable, match=says):
            await geocoder.locate(ADDRESS)
        with pytest.raises(GeocoderUnavailable):
            await geocoder.locate(ADDRESS)
    finally:
        await geocoder.aclose()
    assert len(service.requests_to(path)) == 2


@pytest.mark.parametrize("provider", ["nominatim", "google"])
async def test_a_slow_answer_times_out(service: GeocodingServer, provider: str) -> None:
    build, path = PROVIDERS[provider]
    service.answers[path] = Answer(slow=True, body=b"[]")
    geocoder: ClosableGeocoder = build(service, timeout=0.3)
    try:
        async with asyncio.timeout(5):  # the geocoder's own deadline must come first
            with pytest.raises(GeocoderUnavailable, match=r"did not answer|ReadTimeout"):
                await geocoder.locate(ADDRESS)
    finally:
        await geocoder.aclose()
        service.release()


@pytest.mark.parametrize("provider", ["nominatim", "google"])
@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "streamed"])
async def test_an_oversized_answer_is_refused(
    service: GeocodingServer, provider: str, chunked: bool
) -> None:
    build, path = PROVIDERS[provider]
    padding = b" " * (4 * CAP)
    service.answers[path] = Answer(body=b"[" + padding + b"]", chunked=chunked)
    geocoder: ClosableGeocoder = build(service)
    try:
        with pytest.raises(GeocoderUnavailable, match=rf"cap {CAP}|more than {CAP}"):
            await geocoder.locate(ADDRESS)
    finally:
        await geocoder.aclose()


async def test_a_service_that_is_down_is_unavailable(service: GeocodingServer) -> None:
    url = service.url
    service.close()
    geocoder = NominatimGeocoder(user_agent=USER_AGENT, base_url=url, gate=CountingGate())
    try:
        with pytest.raises(GeocoderUnavailable, match="ConnectError"):
            await geocoder.locate(ADDRESS)
    finally:
        await geocoder.aclose()


def test_nominatim_insists_on_a_user_agent() -> None:
    with pytest.raises(ValueError, match="User-Agent"):
        NominatimGeocoder(user_agent=" ")
    with pytest.raises(ValueError, match="key"):
        GoogleGeocoder(api_key="", user_agent=USER_AGENT)


def test_cache_entries_expire_and_the_oldest_make_room() -> None:
    now = [0.0]
    cache = AnswerCache(max_entries=2, found_for=100, unknown_for=10, clock=lambda: now[0])
    cache.put("a", C_BASE)
    cache.put("b", None)
    assert cache.get("A ") == (True, C_BASE)
    now[0] = 11
    assert cache.get("b") == (False, None)  # "not found" is kept for less time
    cache.put("c", C_BASE)
    cache.put("d", C_BASE)
    assert cache.get("a") == (False, None)  # evicted, least recently used
    assert cache.get("d") == (True, C_BASE)


async def test_the_rate_gate_spaces_callers_a_second_apart() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    gate = RateGate(1.0, clock=lambda: now[0], sleep=sleep)
    await asyncio.gather(gate.wait(), gate.wait(), gate.wait())
    assert slept == [1.0, 2.0]
    now[0] += 10
    await gate.wait()
    assert slept == [1.0, 2.0], "after a quiet spell nobody waits"
    await gate.wait()
    assert slept == [1.0, 2.0, 1.0]
