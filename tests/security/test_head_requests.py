"""HEAD is served wherever GET is (RFC 9110 9.3.2): it answered 405, which
breaks link checkers, caches and monitors that probe with HEAD.

A HEAD answer has the GET's status and headers (its Content-Length and ETag too)
and no body; the rules about who may see what are the GET's.
"""

from __future__ import annotations

from litestar.routes import HTTPRoute

from tests.e2e.conftest import API, Api

VOLATILE = {"date", "x-request-id", "ratelimit", "ratelimit-policy"}


def comparable(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name not in VOLATILE}


async def test_head_mirrors_get_without_the_body(api: Api) -> None:
    organizer = await api.admin()
    event = await api.published_event(organizer)
    draft = await api.create_event(organizer)
    checks = [
        (f"{API}/events", {}),
        (f"{API}/events/{event['id']}", {}),
        (f"{API}/events/{event['id']}/calendar.ics", {}),
        (f"{API}/events/{draft['id']}", {}),  # a 404 for anonymous callers
        (f"{API}/events/{draft['id']}", organizer.headers),
        (f"{API}/users/me", organizer.headers),
        (f"{API}/users/me", {}),  # 401
        ("/health/live", {}),
        ("/schema/openapi.json", {}),
    ]
    for path, headers in checks:
        got = await api.client.get(path, headers=headers)
        head = await api.client.head(path, headers=headers)
        assert head.status_code == got.status_code, (path, head.status_code, head.text)
        assert head.content == b"", path
        assert comparable(dict(head.headers)) == comparable(dict(got.headers)), path


async def test_options_lists_head_wherever_get_is(api: Api) -> None:
    admin = await api.admin()
    for route in api.app.routes:
        if not isinstance(route, HTTPRoute) or "{" in route.path:
            continue
        response = await api.client.options(route.path, headers=admin.headers)
        allowed = {method.strip() for method in response.headers.get("allow", "").split(",")}
        if "GET" in route.methods:
            assert "HEAD" in allowed, route.path


async def test_head_where_there_is_no_get_is_still_405(api: Api) -> None:
    response = await api.client.head(f"{API}/auth/register")
    assert response.status_code == 405
    assert response.content == b""
