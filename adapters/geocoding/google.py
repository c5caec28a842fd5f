"""Google's Geocoding API (`/maps/api/geocode/json`).

Google answers HTTP 200 for most failures and says what happened in `status`:
ZERO_RESULTS is an unknown address; OVER_QUERY_LIMIT, OVER_DAILY_LIMIT,
REQUEST_DENIED and UNKNOWN_ERROR are failures worth retrying later (the key may
be fixed, the quota renewed).
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
from application.ports.geocoder import Geocoder, GeocoderUnavailable
from domain.values import Coordinates

PUBLIC_ENDPOINT = "https://maps.googleapis.com"
_UNKNOWN = frozenset({"ZERO_RESULTS", "INVALID_REQUEST"})


class GoogleGeocoder(Geocoder):
    def __init__(
        self,
        *,
        api_key: str,
        user_agent: str,
        base_url: str = PUBLIC_ENDPOINT,
        timeout: float = 10.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        cache: AnswerCache | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("Google's Geocoding API needs a key")
        self._url = base_url.rstrip("/") + "/maps/api/geocode/json"
        self._key = api_key
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._cache = cache or AnswerCache()
        self._client = json_client(user_agent, timeout, transport)

    async def locate(self, address: str) -> Coordinates | None:
        known, answer = self._cache.get(address)
        if known:
            return answer
        body = await get_json(
            self._client,
            self._url,
            params={"address": address, "key": self._key},
            deadline=self._timeout,
            max_bytes=self._max_bytes,
        )
        answer = _first_result(body)
        self._cache.put(address, answer)
        return answer

    async def aclose(self) -> None:
        await self._client.aclose()


def _first_result(body: Any) -> Coordinates | None:
    if not isinstance(body, dict):
        raise GeocoderUnavailable("Google sent something other than an object")
    status = body.get("status")
    if status in _UNKNOWN:
        return None
    if status != "OK":
        detail = body.get("error_message", "")
        raise GeocoderUnavailable(f"Google geocoding status {status}: {detail}".strip())
    results = body.get("results")
    if not isinstance(results, list) or not results:
        return None
    try:
        location = results[0]["geometry"]["location"]
        return coordinates(location["lat"], location["lng"])
    except (KeyError, TypeError):
        raise GeocoderUnavailable("Google sent a result without geometry.location") from None
