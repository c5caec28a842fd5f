"""Counting the round trips a client makes to PostgreSQL, on the wire.

`RoundTripCounter` is a `TcpProxy` that reads the frontend half of the
PostgreSQL protocol as it forwards it. A client waits for the server after each
Sync message (the extended protocol: Parse/Bind/Execute, then Sync) and after
each simple Query message, so their number is the number of round trips, whatever
the driver or SQLAlchemy do above it: a pool's pre-ping, BEGIN, ROLLBACK and
statement preparation all count. Each round trip is recorded with the SQL it
carried, for readable failures.

Connections must not use TLS (`?ssl=disable`): the proxy reads the bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Iterator

from tests.tcp_proxy import CHUNK, TcpProxy

#: Startup-phase request codes that are followed by more untyped messages.
_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104


class RoundTripCounter(TcpProxy):
    def __init__(self, target_host: str, target_port: int) -> None:
        super().__init__(target_host, target_port)
        self.trips: list[str] = []

    @contextlib.contextmanager
    def counting(self) -> Iterator[list[str]]:
        """The round trips made inside the block, each as the SQL it carried."""
        start = len(self.trips)
        seen: list[str] = []
        try:
            yield seen
        finally:
            seen.extend(self.trips[start:])

    async def _client_to_server(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        pending: list[str] = []  # the SQL parsed or bound since the last Sync
        prepared: dict[bytes, str] = {}  # statement name -> SQL, per connection
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:  # startup: untyped messages until the StartupMessage
                header = await reader.readexactly(8)
                length, code = struct.unpack("!ii", header)
                body = await reader.readexactly(length - 8)
                writer.write(header + body)
                await writer.drain()
                if code in (_SSL_REQUEST, _GSSENC_REQUEST):
                    continue
                break
            while True:
                header = await reader.readexactly(5)
                kind = header[:1]
                (length,) = struct.unpack("!i", header[1:])
                body = await reader.readexactly(length - 4)
                if kind == b"Q":
                    self.trips.append(_text(body))
                elif kind == b"P":
                    name, rest = body.split(b"\0", 1)
                    prepared[name] = _text(rest)
                    pending.append(f"prepare {prepared[name]}")
                elif kind == b"B":
                    name = body.split(b"\0", 2)[1]
                    pending.append(prepared.get(name, "(execute)"))
                elif kind == b"S":
                    self.trips.append("; ".join(pending) or "(sync)")
                    pending.clear()
                writer.write(header + body)
                if len(body) < CHUNK:
                    await writer.drain()
        with contextlib.suppress(OSError):
            writer.transport.abort()


def _text(body: bytes) -> str:
    return " ".join(body.split(b"\0", 1)[0].decode(errors="replace").split())
