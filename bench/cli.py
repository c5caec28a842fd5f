"""`python3 -m uv run python -m bench`: eventapi against its lean ceiling, one command.

Creates (or reuses) the databases, starts a Redis of its own, serves eventapi as
production does and the ceiling the same way, alternates them under wrk per
scenario, prints the table with the issue's targets checked, and writes it to
bench/results/latest.md. `--smoke` runs every scenario for a second on a small
database, and exits non-zero if any scenario got unexpected answers, no answers,
or oversold a seat.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import bcrypt
import httpx

from bench import data, scenarios
from bench.data import Seed
from bench.load import CONNECTIONS, THREADS, Measurement, run_wrk, write_requests
from bench.machine import Redis, ensure_postgres, ensure_wrk, free_port
from bench.report import Result, Row, comparison, markdown, ms, rate
from bench.scenarios import CEILING, EVENTAPI, Scenario
from bench.servers import Server, ceiling_config, eventapi_environment
from entrypoints.container import Container, build_container
from entrypoints.settings import Settings

#: bcrypt-bound: a few connections per core saturate it; 64 only queue past wrk's timeout.
TOKEN_CONNECTIONS = 4 * (os.cpu_count() or 1)

RESULTS = Path(__file__).with_name("results")


@dataclass(frozen=True)
class Plan:
    seconds: int
    runs: int
    workers: int
    small: Seed
    large: Seed | None
    hot_capacity: int
    warm_up_seconds: int

    @classmethod
    def of(cls, args: argparse.Namespace) -> Plan:
        if args.smoke:
            return cls(
                seconds=args.duration or 1,
                runs=args.runs or 1,
                workers=args.workers,
                small=Seed("bench_smoke", 2_000, 1_000),
                large=None,
                hot_capacity=50,
                warm_up_seconds=0,
            )
        return cls(
            seconds=args.duration or 10,
            runs=args.runs or 3,
            workers=args.workers,
            small=Seed("bench_10k", 10_000, 10_000),
            large=None if args.no_1m else Seed("bench_1m", 1_000_000, 0),
            hot_capacity=1_000,
            warm_up_seconds=2,
        )


class Bench:
    def __init__(self, plan: Plan, wrk: str, redis: Redis, work: Path) -> None:
        self.plan, self.wrk, self.redis, self.work = plan, wrk, redis, work
        self.problems: list[str] = []
        self.oversold: dict[str, int] = {EVENTAPI: 0, CEILING: 0}
        self.labels: dict[str, str] = {}
        self.large_rss_kib = 0

    def environment(self, seed: Seed) -> dict[str, str]:
        return eventapi_environment(seed.url, self.redis.url, self.work / "data")

    def server(self, kind: str, seed: Seed) -> Server:
        environment = self.environment(seed)
        ready = "/health/live"
        if kind == CEILING:
            config = ceiling_config(Settings.from_environment(environment))
            environment = environment | config.to_environment()
            ready = "/ping"
        log = self.work / f"{kind}-{seed.name}.log"
        return Server(kind, free_port(), self.plan.workers, environment, log, ready)

    def measure(self, scenario: Scenario, servers: dict[str, Server]) -> dict[str, Result]:
        results = {kind: Result() for kind in servers}
        self.labels[scenario.key] = scenario.label
        if scenario.warm_up and self.plan.warm_up_seconds:
            for server in servers.values():
                self._wrk(scenario, server, 0, warm_up=True)
        for run in range(self.plan.runs):
            order = list(servers) if run % 2 == 0 else list(reversed(servers))
            for kind in order:
                measurement = self._wrk(scenario, servers[kind], run)
                if measurement.requests == 0:  # a slow machine, or a broken endpoint
                    print(f"  {scenario.key} ({kind}): no answer; once more, 5x as long")
                    measurement = self._wrk(scenario, servers[kind], run, stretch=5)
                results[kind].runs.append(measurement)
                self._check(scenario, kind, run, measurement)
                servers[kind].sample_rss()
        line = "  ".join(
            f"{kind} {rate(result.rate)} req/s p99 {ms(result.p99_ms)} ms"
            for kind, result in results.items()
        )
        print(f"  {scenario.label}: {line}", flush=True)
        return results

    def _wrk(
        self,
        scenario: Scenario,
        server: Server,
        run: int,
        *,
        warm_up: bool = False,
        stretch: int = 1,
    ) -> Measurement:
        requests = scenario.build(server.kind, run)
        path = write_requests(self.work / f"{scenario.key}-{server.kind}-{run}.tsv", requests)
        seconds = self.plan.warm_up_seconds if warm_up else self.plan.seconds
        seconds = max(seconds, scenario.min_seconds) * stretch
        return run_wrk(
            self.wrk,
            server.url,
            path,
            seconds=seconds,
            count_statuses=scenario.count_statuses,
            connections=scenario.connections or CONNECTIONS,
        )

    def _check(self, scenario: Scenario, kind: str, run: int, measurement: Measurement) -> None:
        where = f"{scenario.label} ({kind}, run {run + 1})"
        if measurement.requests == 0:
            self.problems.append(f"{where}: no request was answered")
        if measurement.socket_errors:
            self.problems.append(f"{where}: {measurement.socket_errors} socket errors/timeouts")
        if scenario.count_statuses:
            unexpected = {
                status: count
                for status, count in measurement.statuses.items()
                if status not in scenario.expected
            }
            if unexpected:
                self.problems.append(f"{where}: unexpected statuses {unexpected}")
        elif measurement.non_2xx_3xx:
            self.problems.append(f"{where}: {measurement.non_2xx_3xx} non-2xx/3xx answers")
        if scenario.after_run is not None:
            found = scenario.after_run(kind, run)
            self.oversold[kind] += found["oversold"]
            if found["oversold"] or found["mismatch"]:
                self.problems.append(f"{where}: oversold/mismatched seats {found}")


def bcrypt_check_seconds(rounds: int, samples: int = 5) -> float:
    """The time of one bcrypt check at the configured cost, here and now."""
    hashed = bcrypt.hashpw(b"x" * 44, bcrypt.gensalt(rounds))
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        bcrypt.checkpw(b"x" * 44, hashed)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(args: argparse.Namespace) -> int:
    plan = Plan.of(args)
    started = time.monotonic()
    ensure_postgres()
    wrk = ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="eventapi-bench-"))
    redis = Redis.start(args.redis_port)
    print(f"bench: work files in {work}, Redis on port {redis.port}", flush=True)
    bench = Bench(plan, wrk, redis, work)
    try:
        rows, facts = _prepare_and_measure(bench, args)
    finally:
        redis.stop()
    minutes = (time.monotonic() - started) / 60
    preamble = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {minutes:.1f} min"
        f" ({'smoke' if args.smoke else 'full'} run): {platform.node()}, {os.cpu_count()} CPUs,"
        f" Python {platform.python_version()}, wrk {THREADS} threads {CONNECTIONS} connections,"
        f" {plan.seconds} s per run, median of {plan.runs}, {plan.workers} server processes each.",
        *facts,
    ]
    table = markdown(rows, preamble)
    if bench.problems:
        table += "\nProblems:\n" + "".join(f"- {p}\n" for p in bench.problems)
    print("\n" + table)
    output = (
        Path(args.output) if args.output else RESULTS / ("smoke.md" if args.smoke else "latest.md")
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(table)
    print(f"written to {output}")
    if bench.problems:
        print(f"FAILED: {len(bench.problems)} problem(s), see above", file=sys.stderr)
        return 1
    return 0


def _prepare_and_measure(bench: Bench, args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    plan = bench.plan
    settings = Settings.from_environment(bench.environment(plan.small))
    container = build_container(settings)
    asyncio.run(data.prepare(plan.small, settings, reseed=args.reseed))
    if plan.large is not None:
        asyncio.run(data.prepare(plan.large, settings, reseed=args.reseed))
    users = plan.small.attendees
    fixtures = asyncio.run(
        data.reset_and_prepare(
            plan.small,
            spread_events=scenarios.spread_events_needed(users, plan.runs, plan.seconds),
            hot_events=2 * plan.runs,
            hot_capacity=plan.hot_capacity,
        )
    )
    keysets, published = asyncio.run(data.deep_keysets(plan.small, 100))
    check_seconds = bcrypt_check_seconds(settings.security.bcrypt_rounds)
    servers = {kind: bench.server(kind, plan.small) for kind in (EVENTAPI, CEILING)}
    results: dict[str, dict[str, Result]] = {}
    try:
        for server in servers.values():
            server.start()  # both at once: starting takes a while on a busy machine
        for server in servers.values():
            server.wait_ready()
        chosen = _scenarios(bench, servers, container, fixtures, keysets, published)
        wanted = set(args.only.split(",")) if args.only else None
        for scenario in chosen:
            if wanted is None or scenario.key in wanted:
                results[scenario.key] = bench.measure(scenario, servers)
    finally:
        for server in servers.values():
            server.stop()
    large: dict[str, Result] = {}
    if plan.large is not None and (args.only is None or "1m" in args.only):
        large = _measure_large(bench, plan.large, container)
    rows = _rows(results, large, servers, bench, check_seconds, settings.security.bcrypt_rounds)
    facts = [
        f"Data: {plan.small.events:,} events"
        + (f" (and {plan.large.events:,} for the 1M rows)" if plan.large else "")
        + f", {users:,} attendees with sessions, {len(fixtures.spread_events)} events to join,"
        f" hot events of {plan.hot_capacity} seats; one bcrypt check at cost"
        f" {settings.security.bcrypt_rounds}: {check_seconds * 1000:.0f} ms."
    ]
    return rows, facts


def _scenarios(
    bench: Bench,
    servers: dict[str, Server],
    container: Container,
    fixtures: data.Fixtures,
    keysets: list[tuple[datetime, UUID]],
    published: int,
) -> list[Scenario]:
    plan = bench.plan
    e, c = servers[EVENTAPI], servers[CEILING]
    config = ceiling_config(Settings.from_environment(bench.environment(plan.small)))
    deep_e = scenarios.deep_paths_for_eventapi(e.url, container, keysets, published)
    deep_c = scenarios.ceiling_deep_paths(config, keysets)
    first_id = httpx.get(c.url + scenarios.EVENTS, timeout=30).json()["items"][0]["id"]
    if not scenarios.deep_paths_accepted(c.url, deep_c, first_id):
        raise RuntimeError("the ceiling does not accept its own deep cursors")
    sample = fixtures.published[:200]
    tokens = scenarios.Tokens(container, fixtures)
    hot_build, hot_event = scenarios.join_hot(tokens, fixtures)

    def hot_check(kind: str, run: int) -> dict[str, int]:
        confirmed, counted, capacity = asyncio.run(data.oversold(plan.small, hot_event(kind, run)))
        return {"oversold": max(confirmed - capacity, 0), "mismatch": int(confirmed != counted)}

    get = scenarios.get_requests
    return [
        scenarios.per_server("floor", "keep-alive floor: `/health/live` vs bare `/ping`",
                             get(["/health/live"]), get(["/ping"])),
        scenarios.simple("first", "anonymous first page (20 events)", get([scenarios.EVENTS])),
        scenarios.per_server("deep", "deep cursor page", get(deep_e), get(deep_c)),
        scenarios.simple("filtered", "filtered (city + available + dates)",
                         get(scenarios.filtered_paths())),
        scenarios.simple("search", "text search", get(scenarios.search_paths())),
        scenarios.simple("near", "near + 25 km", get(scenarios.near_paths())),
        scenarios.simple("get", "get one event",
                         get([f"{scenarios.EVENTS}/{event}" for event in sample])),
        scenarios.per_server("get304", "get one with `If-None-Match` → 304",
                             scenarios.etag_requests(e.url, sample[:50]),
                             scenarios.etag_requests(c.url, sample[:50])),
        Scenario("signed_in", "signed-in first page, limits on", scenarios.signed_in(tokens)),
        Scenario("join_spread", "join, spread over many events and users",
                 scenarios.join_spread(tokens, fixtures, plan.seconds),
                 expected=frozenset({201}), count_statuses=True, warm_up=False, min_seconds=3),
        Scenario("join_hot", f"join, one hot event ({plan.hot_capacity} seats)", hot_build,
                 expected=frozenset({201, 409}), count_statuses=True, warm_up=False,
                 min_seconds=3, after_run=hot_check),
        Scenario("token", f"token endpoint (password grant, {TOKEN_CONNECTIONS} connections)",
                 scenarios.sign_ins(fixtures, max(plan.seconds, 5)), warm_up=False,
                 min_seconds=5, connections=TOKEN_CONNECTIONS),
    ]  # fmt: skip


def _measure_large(bench: Bench, seed: Seed, container: Container) -> dict[str, Result]:
    server = bench.server(EVENTAPI, seed)
    keysets, published = asyncio.run(data.deep_keysets(seed, 100))
    try:
        server.start()
        server.wait_ready()
        deep = scenarios.deep_paths_for_eventapi(server.url, container, keysets, published)
        get = scenarios.get_requests
        found = {}
        for scenario in (
            scenarios.simple(
                "first_1m", "anonymous first page, 1M events", get([scenarios.EVENTS])
            ),
            scenarios.simple("deep_1m", "deep cursor page, 1M events", get(deep)),
        ):
            found[scenario.key] = bench.measure(scenario, {EVENTAPI: server})[EVENTAPI]
    finally:
        server.stop()
    bench.large_rss_kib = max(server.peak_rss_kib.values(), default=0)
    return found


def _rows(
    results: dict[str, dict[str, Result]],
    large: dict[str, Result],
    servers: dict[str, Server],
    bench: Bench,
    check_seconds: float,
    rounds: int,
) -> list[Row]:
    rows: list[Row] = []
    targets = {
        "floor": None, "first": 0.75, "deep": 0.75, "filtered": 0.75, "search": 0.75,
        "near": 0.75, "get": 0.75, "get304": 0.75, "join_spread": 0.7, "join_hot": 0.7,
    }  # fmt: skip
    labels = bench.labels
    for key, at_least in targets.items():
        if key not in results:
            continue
        pair = results[key]
        if at_least is None:
            row = comparison(labels[key], pair[EVENTAPI], pair[CEILING], at_least=0)
            row.target, row.passed = "(reference)", None
        else:
            row = comparison(labels[key], pair[EVENTAPI], pair[CEILING], at_least=at_least)
        if key == "join_hot":
            row.label += f" — oversold {bench.oversold[EVENTAPI]} / {bench.oversold[CEILING]}"
            if bench.oversold[EVENTAPI] or bench.oversold[CEILING]:
                row.passed = False
        rows.append(row)
    if "signed_in" in results and "first" in results:
        pair = results["signed_in"]
        row = comparison(
            labels["signed_in"], pair[EVENTAPI], pair[CEILING], at_least=0.6,
            against=results["first"][CEILING],
        )  # fmt: skip
        row.note = (row.note + "; " if row.note else "") + (
            f"ratio against the ceiling's anonymous first page "
            f"({rate(results['first'][CEILING].rate)} req/s)"
        )
        rows.insert(min(len(rows), 8), row)
    if "token" in results:
        pair, cores = results["token"], os.cpu_count() or 1
        bound = cores / check_seconds
        ratio = pair[EVENTAPI].rate / bound
        rows.append(
            Row(
                f"token endpoint vs the bcrypt bound ({cores} cores ÷"
                f" {check_seconds * 1000:.0f} ms, cost {rounds})",
                f"{rate(pair[EVENTAPI].rate)} req/s",
                f"{rate(pair[CEILING].rate)} req/s (bound {rate(bound)})",
                ratio,
                f"{ms(pair[EVENTAPI].p99_ms)} / {ms(pair[CEILING].p99_ms)}",
                "≥ 0.85x the bound",
                ratio >= 0.85,
            )
        )
    if "first" in results and "floor" in results:
        page, ping = results["first"][EVENTAPI], results["floor"][EVENTAPI]
        ratio = page.rate / ping.rate if ping.rate else 0.0
        rows.append(
            Row(
                "cached first page vs the same server's bare ping (`/health/live`)",
                f"{rate(page.rate)} req/s",
                f"{rate(ping.rate)} req/s (eventapi's ping)",
                ratio,
                f"{ms(page.p99_ms)} / {ms(ping.p99_ms)}",
                "≥ 0.5x",
                ratio >= 0.5,
            )
        )
    rss = {kind: max(s.peak_rss_kib.values(), default=0) / 1024 for kind, s in servers.items()}
    rss[EVENTAPI] = max(rss[EVENTAPI], bench.large_rss_kib / 1024)
    rows.append(
        Row(
            "peak RSS per server process (VmHWM, largest)",
            f"{rss[EVENTAPI]:.0f} MiB",
            f"{rss[CEILING]:.0f} MiB",
            None,
            "—",
            "≤ 200 MiB",
            rss[EVENTAPI] <= 200,
        )
    )
    for key, small in (("first_1m", "first"), ("deep_1m", "deep")):
        if key in large and small in results:
            big, base = large[key], results[small][EVENTAPI]
            ratio = big.rate / base.rate if base.rate else 0.0
            rows.append(
                Row(
                    f"{'first' if small == 'first' else 'deep'} page: 1M vs 10k events (eventapi)",
                    f"{rate(big.rate)} req/s (1M)",
                    f"{rate(base.rate)} req/s (10k)",
                    ratio,
                    f"{ms(big.p99_ms)} / {ms(base.p99_ms)}",
                    "≥ 0.9x",
                    ratio >= 0.9,
                )
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a second per scenario, small data")
    parser.add_argument("--duration", type=int, default=0, help="seconds per run (10; smoke 1)")
    parser.add_argument("--runs", type=int, default=0, help="runs per scenario (3; smoke 1)")
    parser.add_argument("--workers", type=int, default=2, help="server processes each (2)")
    parser.add_argument("--reseed", action="store_true", help="drop and seed the databases again")
    parser.add_argument("--no-1m", action="store_true", help="skip the 1M-event database")
    parser.add_argument("--redis-port", type=int, default=0, help="port of the bench's Redis")
    parser.add_argument("--only", help="comma-separated scenario keys (floor,first,...,1m)")
    parser.add_argument("--output", help="where to write the table (bench/results/latest.md)")
    return run(parser.parse_args(argv))
