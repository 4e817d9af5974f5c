"""A text stream that hands each whole, non-blank line to a callback (stdout/stderr capture)."""

from __future__ import annotations

import io
from collections.abc import Callable


class LineSink(io.TextIOBase):
    """Buffers writes and calls ``on_line`` once per complete line; blank lines are dropped."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        self._on_line = on_line
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if line.strip():
                self._on_line(line)
        return len(text)

    def flush(self) -> None:
        pass
