"""Links point at EVENTAPI_PUBLIC_URL, never at the request's `Host`.

`calendar.ics` built its URL from the request: `Host: evil.example` came back
in the file, a link to an attacker's site in an invite that looks like ours
(and a cache in front would keep serving it to everyone).
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from tests.e2e.conftest import API, Api

PUBLIC_URL = "https://events.example.org"
EVIL = "evil.example"


@pytest.fixture
def settings_overrides() -> Mapping[str, str]:
    return {"EVENTAPI_PUBLIC_URL": PUBLIC_URL}


def unfolded(ics: str) -> str:
    return ics.replace("\r\n ", "")


async def test_the_calendar_links_to_the_public_url_whatever_the_host(api: Api) -> None:
    organizer = await api.admin()
    event = await api.published_event(organizer)
    for host in (EVIL, f"{EVIL}:443", "127.0.0.1:8000"):
        response = await api.client.get(
            f"{API}/events/{event['id']}/calendar.ics", headers={"Host": host}
        )
        assert response.status_code == 200, response.text
        ics = unfolded(response.text)
        assert f"URL:{PUBLIC_URL}/api/v1/events/{event['id']}\r\n" in ics, ics
        assert EVIL not in ics


async def test_no_response_repeats_the_host(api: Api) -> None:
    organizer = await api.admin()
    event = await api.published_event(organizer)
    paths = [
        f"{API}/events",
        f"{API}/events/{event['id']}",
        f"{API}/events/{event['id']}/calendar.ics",
        f"{API}/events/{event['id']}/registrations",
        f"{API}/users/me",
        "/health/live",
        "/schema/openapi.json",
    ]
    for path in paths:
        for method in ("GET", "OPTIONS"):
            response = await api.client.request(
                method, path, headers={**organizer.headers, "Host": EVIL}
            )
            assert EVIL not in response.text, (method, path)
            assert EVIL not in str(response.headers), (method, path, response.headers)
