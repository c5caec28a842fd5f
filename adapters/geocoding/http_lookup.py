"""What both geocoders share: one bounded HTTP GET, and a cache of answers.

The GET has a deadline for the whole exchange (httpx's own timeouts are per
read, so a server dripping bytes could hold it forever) and a cap on the body,
checked on the declared length and again while reading. Every way it can fail
ends in `GeocoderUnavailable`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from application.ports.geocoder import GeocoderUnavailable
from domain.errors import InvalidValue
from domain.values import Coordinates

DEFAULT_MAX_BYTES = 256 * 1024


def json_client(
    user_agent: str, timeout: float, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The HTTP client both geocoders use: JSON, no redirects, per-read timeouts."""
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent, "Accept": "application/json"},
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        transport=transport,
    )


async def get_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: Mapping[str, str],
    deadline: float,
    max_bytes: int,
) -> Any:
    try:
        async with asyncio.timeout(deadline):
            async with client.stream("GET", url, params=params) as response:
                if response.status_code != httpx.codes.OK:
                    raise GeocoderUnavailable(f"{url} answered HTTP {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise GeocoderUnavailable(f"{url} sent {declared} bytes (cap {max_bytes})")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise GeocoderUnavailable(f"{url} sent more than {max_bytes} bytes")
    except TimeoutError:
        raise GeocoderUnavailable(f"{url} did not answer within {deadline}s") from None
    except httpx.HTTPError as exc:
        raise GeocoderUnavailable(f"{url} failed: {type(exc).__name__}: {exc}") from exc
    try:
        return json.loads(body)
    except ValueError:
        raise GeocoderUnavailable(f"{url} sent something that is not JSON") from None


def coordinates(latitude: Any, longitude: Any) -> Coordinates:
    """Numbers (or numeric strings, as Nominatim sends) within range, else the
    answer is malformed."""
    try:
        return Coordinates(float(latitude), float(longitude))
    except (TypeError, ValueError, InvalidValue):
        raise GeocoderUnavailable(f"malformed coordinates {latitude!r}, {longitude!r}") from None


class AnswerCache:
    """Recent answers by address, found or not, each kept for its own time.
    Failures are never cached: the next call asks again."""

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        found_for: float = 30 * 86_400,
        unknown_for: float = 86_400,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[str, tuple[float, Coordinates | None]] = OrderedDict()
        self._max_entries = max_entries
        self._found_for = found_for
        self._unknown_for = unknown_for
        self._clock = clock

    def get(self, address: str) -> tuple[bool, Coordinates | None]:
        """(True, answer) when a fresh answer is known, else (False, None)."""
        key = _key(address)
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        expires, answer = entry
        if self._clock() >= expires:
            del self._entries[key]
            return False, None
        self._entries.move_to_end(key)
        return True, answer

    def put(self, address: str, answer: Coordinates | None) -> None:
        ttl = self._found_for if answer is not None else self._unknown_for
        key = _key(address)
        self._entries[key] = (self._clock() + ttl, answer)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)


def _key(address: str) -> str:
    return " ".join(address.casefold().split())
