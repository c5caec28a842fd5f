"""Anonymous reads with the read cache on and off, side by side, under wrk.

`--asgi N` instead measures the app's CPU per request in this process, without
a server or a load generator (steadier on a busy machine): N calls of the ASGI
app per scenario, cache off and on.

Starts `eventapi serve` (production settings, Redis, rate limits on with a
limit no run reaches) on a database that already holds published events
(e.g. `eventapi seed-demo --events 2000`), alternately with
EVENTAPI_READ_CACHE_TTL=0 and =30, and prints requests/s and p99 per scenario
(medians over the rounds). Needs `wrk` on the PATH.

    EVENTAPI_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/cache_bench \\
    EVENTAPI_REDIS_URL=redis://127.0.0.1:6379/3 \\
    python3 -m uv run python scripts/bench_read_cache.py --workers 1 --seconds 8 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

PORT = 8731
BASE = f"http://127.0.0.1:{PORT}"


def wait_ready(deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{BASE}/health/live", timeout=1):  # noqa: S310
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def start(ttl: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "EVENTAPI_ENV": "production",
        "EVENTAPI_SECRET_KEY": os.environ.get("EVENTAPI_SECRET_KEY", "b" * 48),
        "EVENTAPI_READ_CACHE_TTL": str(ttl),
        "EVENTAPI_RATE_LIMIT_ANONYMOUS": "1000000/60",
        "EVENTAPI_REDIS_KEY_PREFIX": "bench-read-cache",
        "EVENTAPI_LOG_FORMAT": "json",
    }
    command = [sys.executable, "-m", "entrypoints.cli", "serve", "--port", str(PORT)]
    process = subprocess.Popen(  # noqa: S603
        [*command, "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_ready(time.monotonic() + 60)
    return process


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the server process and its direct children (the workers)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wrk(path: str, seconds: int, headers: dict[str, str]) -> tuple[float, float, int]:
    args = ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(  # noqa: S603
        [*args, BASE + path], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99[2]]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:  # e.g. 503s when a shared database runs out of connections: reported
        print(f"{path}: {errors[1]} responses were not 2xx/3xx", file=sys.stderr)
    total = re.search(r"(\d+) requests in", out)
    assert total is not None, out
    return rps, float(p99[1]) * scale, int(total[1])


def get(path: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(BASE + path, timeout=5) as response:  # noqa: S310
        return response.read(), response.headers.get("ETag", "")


def asgi_cpu(calls: int) -> None:
    """CPU ms per request of the ASGI app itself, cache off and on."""
    import asyncio

    from entrypoints.container import build_container
    from entrypoints.http.app import create_app
    from entrypoints.settings import Settings

    async def measure(ttl: str) -> dict[str, float]:
        os.environ["EVENTAPI_READ_CACHE_TTL"] = ttl
        app = create_app(build_container(Settings.from_environment()))
        statuses: set[int] = set()
        bodies: list[bytes] = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                statuses.add(int(message["status"]))  # type: ignore[call-overload]
            elif message["type"] == "http.response.body":
                bodies.append(message["body"])  # type: ignore[arg-type]

        def scope(path: str, query: bytes) -> dict[str, object]:
            return {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "GET",
                "scheme": "http",
                "path": path,
                "raw_path": path.encode(),
                "query_string": query,
                "root_path": "",
                "headers": [(b"host", b"127.0.0.1")],
                "client": ("127.0.0.1", 5000),
                "server": ("127.0.0.1", 8000),
                "state": {},
            }

        results: dict[str, float] = {}
        await app(scope("/api/v1/events", b"limit=20"), receive, send)  # type: ignore[arg-type]
        first = json.loads(bodies[-1])["items"][0]["id"]
        scenarios = {
            "health/live": ("/health/live", b""),
            "first page (20)": ("/api/v1/events", b"limit=20"),
            "get one": (f"/api/v1/events/{first}", b""),
        }
        for name, (path, query) in scenarios.items():
            for _ in range(20):  # warm
                await app(scope(path, query), receive, send)  # type: ignore[arg-type]
            started = time.process_time()
            for _ in range(calls):
                await app(scope(path, query), receive, send)  # type: ignore[arg-type]
            results[name] = (time.process_time() - started) * 1000 / calls
            bodies.clear()
        if statuses != {200}:
            print(f"statuses seen: {sorted(statuses)}", file=sys.stderr)
        return results

    off, on = asyncio.run(measure("0")), asyncio.run(measure("30"))
    print(f"CPU ms per request in-process, {calls} calls each")
    print("| scenario | cache off | cache on |")
    print("|---|---:|---:|")
    for name in off:
        print(f"| {name} | {off[name]:.3f} | {on[name]:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--asgi", type=int, metavar="N", help="in-process CPU per request")
    args = parser.parse_args()
    if args.asgi:
        asgi_cpu(args.asgi)
        return
    results: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    for _ in range(args.rounds):
        for ttl in (0, 30):
            server = start(ttl, args.workers)
            try:
                page, _ = get("/api/v1/events?limit=20")
                event_id = json.loads(page)["items"][0]["id"]
                _, etag = get(f"/api/v1/events/{event_id}")
                scenarios = {
                    "health/live": ("/health/live", {}),
                    "first page (20)": ("/api/v1/events?limit=20", {}),
                    "first page, city": ("/api/v1/events?city=Berlin&limit=20", {}),
                    "get one": (f"/api/v1/events/{event_id}", {}),
                    "get one, If-None-Match": (
                        f"/api/v1/events/{event_id}",
                        {"If-None-Match": etag},
                    ),
                }
                for name, (path, headers) in scenarios.items():
                    before = cpu_seconds(server.pid)
                    rps, p99, requests = wrk(path, args.seconds, headers)
                    cpu_ms = (cpu_seconds(server.pid) - before) * 1000 / max(requests, 1)
                    results.setdefault((name, ttl), []).append((rps, p99, cpu_ms))
            finally:
                server.terminate()
                server.wait(30)
            with socket.socket() as probe:  # the port is free again before the next start
                while probe.connect_ex(("127.0.0.1", PORT)) == 0:
                    time.sleep(0.1)
    print(f"workers={args.workers}, wrk -t2 -c64 -d{args.seconds}s, medians of {args.rounds}")
    print(
        "| scenario | uncached req/s | cached req/s | ratio | p99 ms (uncached / cached) "
        "| server CPU ms/request (uncached / cached) |"
    )
    print("|---|---:|---:|---:|---|---|")
    names = dict.fromkeys(name for name, _ in results)
    for name in names:
        off, on = results[(name, 0)], results[(name, 30)]
        rps_off, rps_on = (statistics.median(r for r, _, _ in runs) for runs in (off, on))
        p99_off, p99_on = (statistics.median(p for _, p, _ in runs) for runs in (off, on))
        cpu_off, cpu_on = (statistics.median(c for _, _, c in runs) for runs in (off, on))
        print(
            f"| {name} | {rps_off:,.0f} | {rps_on:,.0f} | {rps_on / rps_off:.2f} | "
            f"{p99_off:.0f} / {p99_on:.0f} | {cpu_off:.2f} / {cpu_on:.2f} |"
        )


if __name__ == "__main__":
    main()
