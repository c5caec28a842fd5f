"""Starting, watching and stopping the two servers the bench compares.

eventapi runs as production runs it: `eventapi serve --workers N` with production
settings. The ceiling is served by that very command's code: `serve_ceiling`
calls `entrypoints.commands.serve.serve` with the app factory swapped for the
ceiling's, so whatever server, worker model and options `eventapi serve` uses
(uvicorn today, anything tomorrow), the ceiling gets the same.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.ceiling import CeilingConfig
from entrypoints.settings import Settings

HOST = "127.0.0.1"
#: Fixed, so the password hashes seeded once stay valid across runs. A benchmark
#: database's key, never a deployment's.
SECRET_KEY = "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
PUBLIC_URL = "https://bench.eventapi.invalid"
AUDIENCE = "eventapi"  # entrypoints/container.py gives the token service this audience
#: All load comes from one address (wrk on loopback): the per-address limits are
#: raised so they count (one Redis script per request, as in production) without
#: refusing; the per-user and per-account limits keep their production defaults.
PER_ADDRESS_LIMIT = "1000000/60"
START_SECONDS = 120.0


def eventapi_environment(database_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    """Production settings (docs/configuration.md, "in production")."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("EVENTAPI_")}
    return base | {
        "EVENTAPI_ENV": "production",
        "EVENTAPI_DATABASE_URL": database_url,
        "EVENTAPI_REDIS_URL": redis_url,
        "EVENTAPI_REDIS_KEY_PREFIX": "eventapi-bench",
        "EVENTAPI_SECRET_KEY": SECRET_KEY,
        "EVENTAPI_PUBLIC_URL": PUBLIC_URL,
        "EVENTAPI_RATE_LIMITS": "on",
        "EVENTAPI_RATE_LIMIT_ANONYMOUS": PER_ADDRESS_LIMIT,
        "EVENTAPI_RATE_LIMIT_TOKEN": PER_ADDRESS_LIMIT,
        # Tokens are minted once per scenario; a full run takes longer than 15 minutes.
        "EVENTAPI_ACCESS_TOKEN_MINUTES": "60",
        "EVENTAPI_INPROCESS_WORKER": "off",
        "EVENTAPI_LOG_FORMAT": "json",
        "EVENTAPI_DATA_DIR": str(data_dir),
    }


def ceiling_config(settings: Settings) -> CeilingConfig:
    """The ceiling shares eventapi's database, keys and pepper (so tokens and hashes do)."""
    security = settings.security
    dsn = settings.database.url.replace("postgresql+asyncpg://", "postgresql://")
    return CeilingConfig(
        dsn=dsn,
        pool_size=settings.database.pool_size,
        token_key=security.token_keys[security.token_kid],
        token_kid=security.token_kid,
        issuer=settings.http.public_url,
        audience=AUDIENCE,
        access_ttl_seconds=int(security.access_token_ttl.total_seconds()),
        pepper=security.password_pepper,
        cursor_key=security.derived_key("bench-ceiling-cursors"),
    )


def server_command(kind: str, port: int, workers: int) -> list[str]:
    """The command line of a server: `eventapi serve`, or the ceiling served by it."""
    flags = ["--host", HOST, "--port", str(port), "--workers", str(workers)]
    if kind == "eventapi":
        return [sys.executable, "-m", "entrypoints.cli", "serve", *flags]
    return [sys.executable, "-m", "bench.servers", *flags]


def serve_ceiling(host: str, port: int, workers: int) -> None:
    """Run `eventapi serve`'s own code with the ceiling's app factory."""
    from entrypoints.commands import serve

    if not hasattr(serve, "APP_FACTORY"):
        raise SystemExit(
            "entrypoints.commands.serve has no APP_FACTORY any more: update "
            "bench/servers.py:serve_ceiling so the ceiling is served as eventapi is"
        )
    serve.APP_FACTORY = "bench.ceiling:create_app"
    serve.serve(Settings.from_environment(), host=host, port=port, workers=workers)


@dataclass
class Server:
    """One running server: its process, its port and its log."""

    kind: str
    port: int
    workers: int
    environment: dict[str, str]
    log_path: Path
    ready_path: str
    process: subprocess.Popen[bytes] | None = None
    peak_rss_kib: dict[int, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        """Start the process; `wait_ready` waits until it answers."""
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                server_command(self.kind, self.port, self.workers),
                env=self.environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        assert self.process is not None, "start() first"
        deadline = time.monotonic() + START_SECONDS
        answered = 0
        while answered < self.workers * 2:  # a few answers: every worker is likely up
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} exited; its log:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.kind} did not answer in time:\n{self.log_tail()}")
            try:
                answered += httpx.get(self.url + self.ready_path, timeout=2).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.2)

    def processes(self) -> list[int]:
        """The server process and all its descendants (the worker processes)."""
        if self.process is None:
            return []
        found, queue = [], [self.process.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                try:
                    queue.extend(int(child) for child in task.read_text().split())
                except OSError:
                    continue
        return found

    def sample_rss(self) -> None:
        """Record each process's peak resident set (VmHWM) so far."""
        for pid in self.processes():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    kib = int(line.split()[1])
                    self.peak_rss_kib[pid] = max(kib, self.peak_rss_kib.get(pid, 0))

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.sample_rss()
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the ceiling as eventapi is served")
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    serve_ceiling(args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
