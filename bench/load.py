"""wrk runs: one request file, one server, one measurement."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).with_name("requests.lua")
CONNECTIONS = 64
THREADS = 2


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    def line(self) -> str:
        headers = " | ".join(f"{name}: {value}" for name, value in self.headers.items())
        return f"{self.method}\t{self.path}\t{headers}\t{self.body}"


def write_requests(path: Path, requests: list[Request]) -> Path:
    if not requests:
        raise ValueError(f"no requests for {path.name}")
    path.write_text("".join(request.line() + "\n" for request in requests))
    return path


@dataclass(frozen=True)
class Measurement:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    statuses: dict[int, int]  # only when counted
    non_2xx_3xx: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(
    wrk: str,
    base_url: str,
    requests_file: Path,
    *,
    seconds: int,
    count_statuses: bool,
    timeout_seconds: int = 30,
    connections: int = CONNECTIONS,
) -> Measurement:
    environment = os.environ | {
        "BENCH_REQUESTS": str(requests_file),
        "BENCH_THREADS": str(THREADS),
        "BENCH_COUNT_STATUS": "1" if count_statuses else "0",
    }
    command = [
        wrk,
        f"-t{THREADS}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout_seconds}s",
        "-s",
        str(SCRIPT),
        base_url,
    ]
    done = subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=seconds + 120
    )
    line = next(
        (ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_RESULT ")),
        None,
    )
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = json.loads(line.removeprefix("BENCH_RESULT "))
    errors = result["errors"]
    return Measurement(
        requests=result["requests"],
        seconds=result["duration_us"] / 1e6,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        statuses={int(status): count for status, count in result["statuses"].items()},
        non_2xx_3xx=errors["status"],
    )
