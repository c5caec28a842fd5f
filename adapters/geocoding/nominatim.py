"""Nominatim, OpenStreetMap's geocoder (`/search?format=jsonv2`).

Its usage policy (operations.osmfoundation.org/policies/nominatim) asks for at
most one request per second from the whole application, a User-Agent that
names the application and how to reach its operator, and caching of results.
The rate gate is process-wide; the cache is this instance's.
"""

from __future__ import annotations

from typing import Any

import httpx

from adapters.geocoding.http_lookup import (
    DEFAULT_MAX_BYTES,
    AnswerCache,
    coordinates,
    get_json,
    json_client,
)
from adapters.geocoding.rate_gate import NOMINATIM_GATE, RateGate
from application.ports.geocoder import Geocoder, GeocoderUnavailable
from domain.values import Coordinates

PUBLIC_INSTANCE = "https://nominatim.openstreetmap.org"


class NominatimGeocoder(Geocoder):
    def __init__(
        self,
        *,
        user_agent: str,
        base_url: str = PUBLIC_INSTANCE,
        timeout: float = 10.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        gate: RateGate = NOMINATIM_GATE,
        cache: AnswerCache | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not user_agent.strip():
            raise ValueError("Nominatim requires a User-Agent that names the application")
        self._url = base_url.rstrip("/") + "/search"
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._gate = gate
        self._cache = cache or AnswerCache()
        self._client = json_client(user_agent, timeout, transport)

    async def locate(self, address: str) -> Coordinates | None:
        known, answer = self._cache.get(address)
        if known:
            return answer
        await self._gate.wait()
        body = await get_json(
            self._client,
            self._url,
            params={"q": address, "format": "jsonv2", "limit": "1"},
            deadline=self._timeout,
            max_bytes=self._max_bytes,
        )
        answer = _first_place(body)
        self._cache.put(address, answer)
        return answer

    async def aclose(self) -> None:
        await self._client.aclose()


def _first_place(body: Any) -> Coordinates | None:
    if isinstance(body, dict) and "error" in body:
        raise GeocoderUnavailable(f"Nominatim error: {body['error']}")
    if not isinstance(body, list):
        raise GeocoderUnavailable("Nominatim sent something other than a list of places")
    if not body:
        return None
    place = body[0]
    if not isinstance(place, dict):
        raise GeocoderUnavailable("Nominatim sent a place that is not an object")
    return coordinates(place.get("lat"), place.get("lon"))
