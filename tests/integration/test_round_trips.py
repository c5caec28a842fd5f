"""Round trips to PostgreSQL per request, counted on the wire (tests/round_trips.py).

Issue 11 measured 4 round trips for an anonymous get (a pool pre-ping's
BEGIN/ping/ROLLBACK first), 12 for a signed-in page and 18 for a join. These tests
pin what the request path costs now, so that it cannot creep back: the service is
built as production builds it (`build_container`, `create_app`), its database
reached through a counting proxy, and each request is made once to warm the
statement caches and then counted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from domain.users import Role
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from tests.e2e.conftest import API, BASE_URL, Api, settings_for
from tests.round_trips import RoundTripCounter
from tests.tcp_proxy import LOOPBACK

pytestmark = pytest.mark.postgres


@pytest.fixture
def counter(postgres_url: str) -> Iterator[RoundTripCounter]:
    target = make_url(postgres_url)
    proxy = RoundTripCounter(target.host or LOOPBACK, target.port or 5432)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture
async def direct(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def api(
    postgres_engine: AsyncEngine, postgres_url: str, counter: RoundTripCounter, tmp_path: Path
) -> AsyncIterator[Api]:
    url = make_url(postgres_url).set(host=LOOPBACK, port=counter.port)
    # The read cache would answer anonymous reads with no round trip at all: these are
    # the trips of the requests that reach the database (tests/e2e/test_read_cache.py).
    settings = settings_for(
        url.render_as_string(hide_password=False), tmp_path / "data", EVENTAPI_READ_CACHE_TTL="0"
    )
    container = build_container(settings)
    app = create_app(container)
    async with AsyncTestClient(app=app, base_url=BASE_URL) as client:
        yield Api(client=client, container=container, app=app, database="postgres")


async def trips(
    api: Api, counter: RoundTripCounter, method: str, path: str, **kw: object
) -> list[str]:
    """The round trips of one request (made once before, to warm every cache)."""
    response = await api.client.request(method, path, **kw)  # type: ignore[arg-type]
    assert response.status_code < 400, response.text
    with counter.counting() as seen:
        response = await api.client.request(method, path, **kw)  # type: ignore[arg-type]
    assert response.status_code < 400, response.text
    return seen


async def test_round_trips_per_request(api: Api, counter: RoundTripCounter) -> None:
    organizer = await api.user(Role.ORGANIZER)
    event = await api.published_event(organizer, capacity=1000)
    other = await api.published_event(organizer, capacity=1000)
    reader = await api.user(name="reader")
    path = f"{API}/events/{event['id']}"

    get = await trips(api, counter, "GET", path)
    page = await trips(api, counter, "GET", f"{API}/events")
    signed_in = await trips(api, counter, "GET", f"{API}/events", headers=reader.headers)

    # A join: warmed on one event, counted on another (a join is made once per event).
    await api.join(reader, other["id"])
    joiner = await api.user(name="joiner")
    with counter.counting() as join:
        await api.join(joiner, event["id"])

    assert len(get) == 1, get  # was 4: BEGIN, ping, ROLLBACK (the pool's pre-ping), SELECT
    assert len(page) == 1, page  # was 4
    assert len(signed_in) <= 2, signed_in  # the caller, the page (was 8)
    # was 17; 10 until issue 14, whose webhook fan-out asks which endpoints hear of it
    assert len(join) <= 11, join


async def test_reads_recover_at_once_from_connections_the_server_closed(
    api: Api, direct: AsyncEngine
) -> None:
    """Without a pre-ping, a pooled connection the server has closed (a restart, an
    administrator's kill) is still no error for the next read: it is replaced."""
    organizer = await api.user(Role.ORGANIZER)
    event = await api.published_event(organizer)
    path = f"{API}/events/{event['id']}"
    assert (await api.client.get(path)).status_code == 200
    async with direct.connect() as connection:
        killed = await connection.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name = 'eventapi'"
            )
        )
    assert killed
    for _ in range(3):
        response = await api.client.get(path)
        assert response.status_code == 200, response.text
        assert (await api.client.get(f"{API}/events")).status_code == 200
