"""`/metrics` under `eventapi serve --workers 2` adds both processes up: whichever of
them answers a scrape, it counts every request either of them served. The metrics
directory `serve` makes for the processes is gone once it has stopped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.security.processes import (
    EVENTAPI,
    Process,
    clean_environment,
    start,
    wait_until_ready,
)
from tests.services import free_port

REQUESTS = 60
#: Connections are spread over the processes by the kernel; more are sent (a few at
#: most, in practice) until both processes have served some.
MOST_REQUESTS = 600
SCRAPES = 6
ROUTE = "/api/v1/events"
SAMPLE = re.compile(r"^eventapi_http_requests_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")


def serving_pids(server: Process) -> set[int]:
    """The processes whose access records show a request to ROUTE."""
    pids = set()
    for line in server.log.read_text(encoding="utf-8").splitlines():
        if '"eventapi.access"' in line:
            entry = json.loads(line)
            if entry["route"] == ROUTE:
                pids.add(entry["pid"])
    return pids


def counted(text: str) -> float:
    """Requests to ROUTE in one scrape, all statuses."""
    total = 0.0
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and f'route="{ROUTE}"' in match["labels"] and 'method="GET"' in match["labels"]:
            total += float(match["value"])
    return total


async def test_every_scrape_counts_the_requests_of_every_process(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = clean_environment(
        BCRYPT_ROUNDS="4", SECRET_KEY="x" * 48, RATE_LIMITS="off", INPROCESS_WORKER="off"
    )
    env.update(TMPDIR=str(temp), EVENTAPI_LOG_FORMAT="json")
    command = [*EVENTAPI, "serve", "--port", str(free_port()), "--workers", "2"]
    server = start("eventapi", command, env, tmp_path)
    try:
        await wait_until_ready(server)
        (metrics_dir,) = temp.iterdir()
        assert metrics_dir.name.startswith("eventapi-metrics-")
        sent = 0
        # A fresh connection for each request, so that either process may take it.
        fresh = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=server.url, trust_env=False, timeout=30, limits=fresh
        ) as client:
            while sent < REQUESTS or (len(serving_pids(server)) < 2 and sent < MOST_REQUESTS):
                response = await client.get(ROUTE)
                assert response.status_code == 200, response.text
                sent += 1
            scrapes = [(await client.get("/metrics")).text for _ in range(SCRAPES)]
        assert len(serving_pids(server)) == 2, "one process served every request"
    finally:
        server.stop()
    assert [counted(text) for text in scrapes] == [float(sent)] * SCRAPES
    assert sent >= REQUESTS
    assert list(temp.iterdir()) == []  # the metrics directory went with the server
