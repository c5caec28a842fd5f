"""Time-ordered ids (RFC 9562 UUID version 7) from the standard library."""

from __future__ import annotations

import os
import threading
import time
from uuid import UUID

from application.ports.system import IdGenerator


class Uuid7Generator(IdGenerator):
    """48 bits of Unix milliseconds, then a 12-bit counter that keeps ids made in
    the same millisecond in order (RFC 9562 §6.2 method 1), then 62 random bits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0

    def new_id(self) -> UUID:
        with self._lock:
            ms = time.time_ns() // 1_000_000
            if ms > self._last_ms:
                self._last_ms, self._counter = ms, int.from_bytes(os.urandom(2)) & 0x3FF
            else:  # same millisecond, or the clock stepped back: keep counting
                self._counter += 1
                if self._counter > 0xFFF:
                    self._last_ms, self._counter = self._last_ms + 1, 0
                ms = self._last_ms
            counter = self._counter
        rand = int.from_bytes(os.urandom(8)) & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand
        return UUID(int=value)
