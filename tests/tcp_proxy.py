"""A TCP forwarder on a loopback port, for outages of the service behind it.

`kill()` is the service vanishing: the port stops listening (new connections are
refused) and every open connection is cut with a reset. `start()` listens again on
the same port. It runs on an event loop of its own, in a thread, so it keeps
forwarding whatever loop (or process) the clients run on.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

LOOPBACK = "127.0.0.1"
CHUNK = 64 * 1024
COMMAND_SECONDS = 10.0


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    # -- from any thread -------------------------------------------------------------

    def start(self) -> None:
        """Listen (again) on the same port as before, or on a free one the first time."""
        self._call(self._listen())

    def kill(self) -> None:
        """Refuse new connections and reset every open one."""
        self._call(self._kill())

    def close(self) -> None:
        self._call(self._kill())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(COMMAND_SECONDS)
        self._loop.close()

    @property
    def open_connections(self) -> int:
        return len(self._writers)

    # -- on the proxy's loop -----------------------------------------------------------

    def _call(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(COMMAND_SECONDS)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._forward, LOOPBACK, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _kill(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        writers, self._writers = self._writers, set()
        for writer in writers:
            sock = writer.get_extra_info("socket")
            if sock is not None:  # SO_LINGER 0: close with a reset, as a dead host's peer sees
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        if server is not None:
            await server.wait_closed()

    async def _forward(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        if self._server is None:
            client.transport.abort()
            return
        try:
            upstream_reader, upstream = await asyncio.open_connection(*self._target)
        except OSError:
            client.transport.abort()
            return
        pair = {client, upstream}
        self._writers |= pair
        try:
            await asyncio.gather(
                self._client_to_server(client_reader, upstream), _pipe(upstream_reader, client)
            )
        finally:
            for writer in pair:
                writer.transport.abort()
            self._writers -= pair

    async def _client_to_server(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """What the client sends, on its way to the server (a subclass may read it)."""
        await _pipe(reader, writer)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.transport.abort()
