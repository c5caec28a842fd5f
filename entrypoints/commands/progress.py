"""A plain-text progress bar for long commands, drawn on stderr."""

from __future__ import annotations

from typing import TextIO


class ProgressBar:
    """Redrawn in place (`\\r`) on a terminal; elsewhere (a log, a pipe) one line
    per tenth of the way, so logs show progress without a flood of lines."""

    WIDTH = 30

    def __init__(self, label: str, total: int, stream: TextIO) -> None:
        self._label = label
        self._total = max(total, 1)
        self._stream = stream
        self._done = 0
        self._shown = -1
        self._terminal = stream.isatty()
        self._draw()

    def advance(self, count: int = 1) -> None:
        self._done = min(self._total, self._done + count)
        self._draw()

    def close(self) -> None:
        if self._terminal:
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self) -> None:
        percent = self._done * 100 // self._total
        step = percent if self._terminal else percent // 10 * 10
        if step == self._shown:
            return
        self._shown = step
        filled = self.WIDTH * self._done // self._total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        line = f"{self._label} [{bar}] {self._done}/{self._total} ({percent}%)"
        self._stream.write(f"\r{line}" if self._terminal else f"{line}\n")
        self._stream.flush()
