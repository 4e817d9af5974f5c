"""The engine's log sink when nobody reads its stream any more (a closed pipe)."""

from __future__ import annotations

import contextlib
import os

from tentacular.engine._logs import LogSink


def test_a_line_to_a_pipe_without_a_reader_is_lost_not_raised() -> None:
    """A run or a shutdown must never fail because the log reader went away (a terminal closed,
    a crashed log shipper): the line is dropped and counted."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    stream = os.fdopen(write_end, "w", buffering=1)  # line-buffered, as the engine's stderr is
    sink = LogSink(stream=stream, fmt="json")
    sink.engine("info", "Shutting down")
    sink.emit("warning", "a node line", node="n", run="r")
    assert sink.lost == 2
    with contextlib.suppress(BrokenPipeError):  # what is still buffered cannot be flushed either
        stream.close()
