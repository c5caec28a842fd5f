"""What the bench needs from the machine: PostgreSQL, its own Redis, and wrk."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"
WAIT_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _wait(what: str, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up in {WAIT_SECONDS:.0f} s")
        time.sleep(0.2)


def ensure_postgres() -> None:
    """The machine's PostgreSQL on 127.0.0.1:5432, started with pg_ctlcluster if down."""
    if answers(POSTGRES_PORT, POSTGRES_HOST):
        return
    versions = sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".")])
    if not versions:
        raise RuntimeError("no PostgreSQL cluster under /etc/postgresql")
    print(f"starting PostgreSQL {versions[-1]}", flush=True)
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
        check=True,
    )
    _wait("PostgreSQL", lambda: answers(POSTGRES_PORT, POSTGRES_HOST))


def database_url(name: str) -> str:
    return f"postgresql://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"


def ensure_wrk() -> str:
    """wrk from Debian, installed with apt-get when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (apt-get install -y wrk)", flush=True)
    environment = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=environment)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=environment)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("apt-get installed wrk, but it is not on PATH")
    return found


@dataclass
class Redis:
    """A redis-server of the bench's own: loopback only, no persistence."""

    port: int
    process: subprocess.Popen[bytes]
    folder: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def start(cls, port: int = 0) -> Redis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        port = port or free_port()
        if answers(port):
            raise RuntimeError(f"something already listens on 127.0.0.1:{port}; pick another")
        folder = Path(tempfile.mkdtemp(prefix="eventapi-bench-redis-"))
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(folder), "--logfile", str(folder / "redis.log")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        redis = cls(port, process, folder)
        try:
            _wait("redis-server", lambda: answers(port) or process.poll() is not None)
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited (see {folder / 'redis.log'})")
        except BaseException:
            redis.stop()
            raise
        return redis

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
