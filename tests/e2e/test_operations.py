"""Operations over HTTP: health probes, the schema, request ids, security headers,
and the transport-level errors (404, 405, 413, 415) as problem+json."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from adapters.sql.engine import create_database_engine
from domain.users import Role
from entrypoints.container import close_resources
from tests.e2e.conftest import API, Api, assert_problem, event_body

MIB = 1024 * 1024
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


async def test_liveness_answers_ok(api: Api) -> None:
    response = await api.client.get("/health/live")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["status"] == "ok"


async def test_readiness_reports_the_database_reachable(api: Api) -> None:
    response = await api.client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_readiness_is_503_when_the_database_is_gone(api: Api, tmp_path: Path) -> None:
    # An engine that cannot connect (nothing listens on port 1; a folder that does not
    # exist): the probe must say so with a 503, not hang or fail with a 500.
    broken = create_database_engine(
        "postgresql+asyncpg://nobody@127.0.0.1:1/nothing"
        if api.database == "postgres"
        else f"sqlite+aiosqlite:///{tmp_path}/missing/dir/none.db"
    )
    api.run(lambda: close_resources(api.container))
    with api.container.engine.override(providers.Object(broken)):
        response = await api.client.get("/health/ready")
    api.run(broken.dispose)

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "unavailable"}}


async def test_the_openapi_document_is_served(api: Api) -> None:
    response = await api.client.get("/schema/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert f"{API}/events" in document["paths"]
    assert f"{API}/auth/token" in document["paths"]


async def test_a_sane_request_id_is_echoed(api: Api) -> None:
    response = await api.client.get("/health/live", headers={"X-Request-ID": "trace-42.a:b_c"})

    assert response.headers["x-request-id"] == "trace-42.a:b_c"


@pytest.mark.parametrize(
    "given",
    [
        "has spaces in it",
        "x" * 129,
        "<script>",
        "semi;colon",
        "",
    ],
)
async def test_an_insane_request_id_is_replaced_by_a_generated_one(api: Api, given: str) -> None:
    response = await api.client.get("/health/live", headers={"X-Request-ID": given})

    assert response.headers["x-request-id"] != given
    assert GENERATED_ID.match(response.headers["x-request-id"])


async def test_generated_request_ids_differ_per_request(api: Api) -> None:
    first = await api.client.get("/health/live")
    second = await api.client.get("/health/live")

    assert GENERATED_ID.match(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def _sweep() -> Iterator[tuple[str, str, dict[str, Any], int]]:
    """(method, path, request options, expected status): one of each kind of answer."""
    yield "GET", "/health/live", {}, 200
    yield "GET", "/schema/openapi.json", {}, 200
    yield "GET", f"{API}/events", {}, 200
    yield "GET", f"{API}/users/me", {}, 401
    yield "GET", f"{API}/users/me", {"headers": {"Authorization": "Bearer nonsense"}}, 401
    yield "GET", f"{API}/events/01890000-0000-7000-8000-000000000000", {}, 404
    yield "GET", "/no/such/path", {}, 404
    yield "GET", f"{API}/no-such-route", {}, 404
    yield "PUT", f"{API}/events", {}, 405
    yield "DELETE", f"{API}/auth/token", {}, 405
    yield "POST", f"{API}/auth/register", {"json": {"email": "x"}}, 400
    yield (
        "POST",
        f"{API}/auth/register",
        {"content": b"{" * (MIB + 1), "headers": {"Content-Type": "application/json"}},
        413,
    )
    yield (
        "POST",
        f"{API}/auth/register",
        {"content": b"hello", "headers": {"Content-Type": "text/plain"}},
        415,
    )


SWEEP = list(_sweep())


@pytest.mark.parametrize(
    ("method", "path", "options", "status"),
    SWEEP,
    ids=[f"{m} {p[:40]} {s}" for m, p, _, s in SWEEP],
)
async def test_every_response_carries_request_id_and_security_headers(
    api: Api, method: str, path: str, options: dict[str, Any], status: int
) -> None:
    response = await api.client.request(method, path, **options)

    assert response.status_code == status, response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert GENERATED_ID.match(response.headers["x-request-id"])
    assert response.headers["x-frame-options"] == "DENY"
    if status >= 400:
        assert_problem(response, status)


async def test_unknown_path_is_a_404_problem(api: Api) -> None:
    assert_problem(await api.client.get(f"{API}/nothing-here"), 404, "/problems/not-found")


async def test_unknown_event_id_is_a_404_problem(api: Api) -> None:
    response = await api.client.get(f"{API}/events/01890000-0000-7000-8000-000000000000")

    assert_problem(response, 404, "/problems/not-found")


async def test_malformed_id_in_the_path_is_not_a_500(api: Api) -> None:
    response = await api.client.get(f"{API}/events/not-a-uuid")

    assert response.status_code in {400, 404}
    assert_problem(response, response.status_code)


async def test_wrong_method_is_a_405_problem_with_allow(api: Api) -> None:
    response = await api.client.put(f"{API}/events", json={})

    assert_problem(response, 405, "/problems/method-not-allowed")
    allowed = {method.strip() for method in response.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "PUT" not in allowed


async def test_a_body_over_one_mebibyte_is_a_413_problem(api: Api) -> None:
    organizer = await api.user(Role.ORGANIZER)
    huge = event_body(description="x" * (MIB + 10))

    response = await api.client.post(f"{API}/events", json=huge, headers=organizer.headers)

    assert_problem(response, 413, "/problems/payload-too-large")
    assert api.snapshot()["events"] == []


async def test_a_chunked_body_over_one_mebibyte_is_a_413_problem(api: Api) -> None:
    """No Content-Length to go by: the limit holds while the body streams in. (The test
    client cannot stream a request, so this speaks ASGI to the app directly.)"""
    chunk = b" " * (MIB // 16)
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": True} for _ in range(20)
    ]
    messages.append({"type": "http.request", "body": b"", "more_body": False})
    sent: list[dict[str, Any]] = []

    async def receive() -> Any:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"{API}/auth/register",
        "raw_path": f"{API}/auth/register".encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    api.run(lambda: api.app(scope, receive, send))  # type: ignore[arg-type]

    start = next(message for message in sent if message["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    assert start["status"] == 413, body
    assert headers["content-type"].startswith("application/problem+json")
    assert json.loads(body)["status"] == 413
    assert len(messages) > 0, "the app read the whole oversized body before refusing it"


async def test_a_body_just_under_the_limit_is_read(api: Api) -> None:
    padding = " " * (MIB - 200)
    body = f'{{"email": "a@example.org"{padding}}}'.encode()

    response = await api.client.post(
        f"{API}/auth/register", content=body, headers={"Content-Type": "application/json"}
    )

    # Read and validated (fields are missing), not refused for size.
    assert_problem(response, 400)


async def test_a_text_body_is_a_415_problem(api: Api) -> None:
    response = await api.client.post(
        f"{API}/auth/register",
        content=b'{"email": "a@example.org"}',
        headers={"Content-Type": "text/plain"},
    )

    assert_problem(response, 415, "/problems/unsupported-media-type")
    assert api.snapshot()["users"] == []


async def test_json_to_the_form_encoded_token_endpoint_is_a_415_problem(api: Api) -> None:
    response = await api.client.post(
        f"{API}/auth/token", json={"grant_type": "password", "username": "a", "password": "b"}
    )

    assert_problem(response, 415, "/problems/unsupported-media-type")


async def test_json_responses_carry_a_strict_content_security_policy(api: Api) -> None:
    response = await api.client.get(f"{API}/events")

    assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_signed_in_responses_are_not_cached(api: Api) -> None:
    caller = await api.user()

    response = await api.client.get(f"{API}/users/me", headers=caller.headers)

    assert response.headers["cache-control"] == "no-store"
