"""Calling a command for a tool: in this process, or in a child process for node code.

Either way the command runs with ``-o json``: stdout carries exactly its envelope and
every stderr line is progress, which the server forwards as MCP progress notifications.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TextIO

import anyio
import anyio.from_thread
import anyio.to_thread

from tentacular.agent._lines import LineSink
from tentacular.agent._tools import ToolSpec

InProcessRunner = Callable[[list[str]], int]
Progress = Callable[[str], Coroutine[Any, Any, None]]
CHILD_COMMAND = (sys.executable, "-m", "tentacular.cli.main")
MAX_PROGRESS_LINE = 2000

_in_process = threading.Lock()


async def invoke(
    tool: ToolSpec, argv: list[str], *, run_in_process: InProcessRunner, progress: Progress
) -> tuple[dict[str, Any], int]:
    """Run the tool's command; returns its envelope and exit code."""
    if tool.mode == "child-process":
        out, code = await _child(argv, progress)
    else:
        out, code = await _here(argv, run_in_process, progress)
    return envelope_of(tool, out, code), code


def envelope_of(tool: ToolSpec, out: str, code: int) -> dict[str, Any]:
    lines = [line for line in out.splitlines() if line.strip()]
    if lines:
        try:
            document = json.loads(lines[-1])
        except ValueError:
            document = None
        if isinstance(document, dict) and "status" in document:
            return document
    message = f"tntc {tool.command.name} exited {code} without a JSON envelope"
    return {
        "version": "1",
        "command": tool.command.name,
        "status": "fail",
        "summary": message,
        "hints": ["report this: every command answers -o json with one envelope"],
        "error": {"code": "internal", "message": message},
    }


class _Router(io.TextIOBase):
    """A standard stream that sends the calling worker thread's writes to its sink."""

    def __init__(self, fallback: TextIO, sinks: dict[int, Any]) -> None:
        self._fallback = fallback
        self._sinks = sinks

    def writable(self) -> bool:
        return True

    def _target(self) -> Any:
        return self._sinks.get(threading.get_ident(), self._fallback)

    def write(self, text: str) -> int:
        return int(self._target().write(text))

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return False


async def _here(argv: list[str], runner: InProcessRunner, progress: Progress) -> tuple[str, int]:
    def on_line(line: str) -> None:
        anyio.from_thread.run(progress, line)

    def call() -> tuple[str, int]:
        captured = io.StringIO()
        with _in_process:
            ident = threading.get_ident()
            saved = sys.stdout, sys.stderr, sys.stdin
            sys.stdout = _Router(saved[0], {ident: captured})
            sys.stderr = _Router(saved[1], {ident: LineSink(lambda line: on_line(line[:MAX_PROGRESS_LINE]))})
            sys.stdin = io.StringIO("")  # a prompt meets end of input, never the protocol stream
            try:
                code = runner(argv)
            finally:
                sys.stdout, sys.stderr, sys.stdin = saved
        return captured.getvalue(), code

    return await anyio.to_thread.run_sync(call)


async def _child(argv: list[str], progress: Progress) -> tuple[str, int]:
    chunks: list[bytes] = []
    async with await anyio.open_process(
        [*CHILD_COMMAND, *argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        stdout, stderr = process.stdout, process.stderr

        async def read_out() -> None:
            async for chunk in stdout:
                chunks.append(chunk)

        async def read_err() -> None:
            pending = b""
            async for chunk in stderr:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    text = line.decode("utf-8", "replace").strip()
                    if text:
                        await progress(text[:MAX_PROGRESS_LINE])

        try:
            async with anyio.create_task_group() as group:
                group.start_soon(read_out)
                group.start_soon(read_err)
            code = await process.wait()
        except BaseException:  # cancelled by the client: do not leave the command running
            process.kill()
            raise
    return b"".join(chunks).decode("utf-8", "replace"), code
