"""`eventapi serve --workers 2` turns Nagle's algorithm off on every connection it
accepts. uvicorn shares one listening socket made with protocol 0 between its
worker processes, and asyncio sets TCP_NODELAY only on sockets made with
IPPROTO_TCP: each keep-alive response then waited ~40 ms for the client's
delayed ACK (docs/adr/0007-tcp-nodelay-uvloop-httptools.md).

The test reads the option on the server's own end of each connection: it takes a
duplicate of the worker's socket descriptor with pidfd_getfd(2) (Linux 5.6+; the
test runs as the user that started the server) and asks it with getsockopt."""

from __future__ import annotations

import ctypes
import os
import socket
from pathlib import Path

from tests.security.processes import EVENTAPI, clean_environment, start, wait_until_ready
from tests.services import LOOPBACK, free_port

CONNECTIONS = 12
SYS_PIDFD_GETFD = 438  # the same number on x86-64 and arm64
_libc = ctypes.CDLL(None, use_errno=True)


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (uvicorn's workers, and whatever they started)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def server_ends(pids: set[int]) -> dict[tuple[str, int], tuple[int, int]]:
    """Connected TCP sockets of `pids`: peer address -> (pid, TCP_NODELAY)."""
    ends: dict[tuple[str, int], tuple[int, int]] = {}
    for pid in pids:
        pidfd = os.pidfd_open(pid)
        try:
            for fd_link in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if not os.readlink(fd_link).startswith("socket:"):
                        continue
                except OSError:
                    continue
                copy = _libc.syscall(SYS_PIDFD_GETFD, pidfd, int(fd_link.name), 0)
                assert copy >= 0, f"pidfd_getfd: {os.strerror(ctypes.get_errno())}"
                with socket.socket(fileno=copy) as end:
                    if end.family != socket.AF_INET or end.type != socket.SOCK_STREAM:
                        continue
                    try:
                        peer = end.getpeername()
                    except OSError:
                        continue  # the listening socket
                    nodelay = end.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                    ends[peer] = (pid, nodelay)
        finally:
            os.close(pidfd)
    return ends


async def test_every_accepted_connection_has_tcp_nodelay(tmp_path: Path) -> None:
    env = clean_environment(
        BCRYPT_ROUNDS="4", SECRET_KEY="x" * 48, RATE_LIMITS="off", INPROCESS_WORKER="off"
    )
    command = [*EVENTAPI, "serve", "--port", str(free_port()), "--workers", "2"]
    server = start("eventapi", command, env, tmp_path)
    clients: list[socket.socket] = []
    try:
        await wait_until_ready(server)
        for _ in range(CONNECTIONS):
            client = socket.create_connection((LOOPBACK, server.port), timeout=10)
            clients.append(client)
            client.sendall(b"GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n")
            assert client.recv(4096).startswith(b"HTTP/1.1 200 ")  # accepted and served
        ends = server_ends(descendants(server.process.pid))
        names = [client.getsockname() for client in clients]
        assert [name for name in names if name not in ends] == [], "not found in any worker"
        assert {ends[name][1] for name in names} == {1}, {name: ends[name] for name in names}
    finally:
        for client in clients:
            client.close()
        server.stop()
