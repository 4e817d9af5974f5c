"""One Deno worker process and the framed protocol spoken with it.

Frames are a 4-byte big-endian length followed by UTF-8 JSON, over the worker's
stdin (requests) and stdout (replies). Reading is an event-loop reader on the raw
pipe fd (no audit events, no thread); start-up and node loading can also be done
synchronously, because node loading is synchronous in the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import struct
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tentacular.engine._deno.launcher import LaunchedWorker, Launcher

MAX_FRAME = 64 * 1024 * 1024
_HEADER = struct.Struct(">I")
Frame = dict[str, Any]


class WorkerGone(Exception):
    """The worker exited or broke the protocol; every pending request fails with this."""


class FrameBuffer:
    def __init__(self) -> None:
        self._data = bytearray()

    def feed(self, chunk: bytes) -> list[Frame]:
        self._data += chunk
        frames: list[Frame] = []
        data = self._data
        offset = 0
        while len(data) - offset >= 4:
            (size,) = _HEADER.unpack_from(data, offset)
            if size > MAX_FRAME:
                raise WorkerGone(f"the Deno worker sent a frame of {size} bytes")
            if len(data) - offset - 4 < size:
                break
            frames.append(json.loads(bytes(data[offset + 4 : offset + 4 + size])))
            offset += 4 + size
        if offset:
            del data[:offset]
        return frames


def encode(frame: Frame) -> bytes:
    body = json.dumps(frame, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    return _HEADER.pack(len(body)) + body


class WorkerProcess:
    """A running worker: send frames, receive them through ``on_frame``, notice its death."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: str,
        launcher: Launcher,
        on_frame: Callable[[Frame], None],
        on_exit: Callable[[str], None],
    ) -> None:
        self._argv = list(argv)
        self._env = dict(env)
        self._cwd = cwd
        self._launcher = launcher
        self._on_frame = on_frame
        self._on_exit = on_exit
        self._spawned: LaunchedWorker | None = None
        self._buffer = FrameBuffer()
        self._stderr = bytearray()
        self._outbox = bytearray()
        self._writing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.alive = False
        self.cold_start: float | None = None

    @property
    def pid(self) -> int | None:
        return self._spawned.pid if self._spawned is not None else None

    def start(self, *, timeout: float) -> None:
        """Spawn and wait (blocking) for the worker's ``ready`` frame."""
        began = time.perf_counter()
        self._spawned = self._launcher(self._argv, env=self._env, cwd=self._cwd)
        self.alive = True
        try:
            frame = self.receive_sync(timeout=timeout)
        except WorkerGone as exc:
            detail = self.stderr_text()
            raise WorkerGone(f"{exc}: {detail}" if detail else str(exc)) from None
        if frame.get("t") != "ready":
            self.kill()
            raise WorkerGone(f"the Deno worker did not start (got {frame.get('t')!r})")
        self.cold_start = time.perf_counter() - began

    def stderr_text(self) -> str:
        """What the worker wrote to stderr so far (start-up failures), read without blocking."""
        spawned = self._spawned
        if spawned is not None and self.alive:
            with contextlib.suppress(OSError):
                os.set_blocking(spawned.stderr_fd, False)
                while chunk := os.read(spawned.stderr_fd, 1 << 16):
                    self._stderr += chunk
        return self._stderr.decode(errors="replace").strip()[-2000:]

    def send(self, frame: Frame) -> None:
        """Queue one frame. On an event loop, writing never blocks: while the worker writes a
        large reply, a blocking write of a large request would deadlock both sides."""
        spawned = self._spawned
        if spawned is None or not self.alive:
            raise WorkerGone("the Deno worker is not running")
        self._outbox += encode(frame)
        loop = self._loop if self._loop is not None and not self._loop.is_closed() else None
        if loop is None:
            self._flush_blocking(spawned)
        elif not self._writing:
            self._writable()

    def _flush_blocking(self, spawned: LaunchedWorker) -> None:
        try:
            while self._outbox:
                try:
                    written = os.write(spawned.stdin_fd, self._outbox)
                except BlockingIOError:
                    select.select([], [spawned.stdin_fd], [], 1.0)
                    continue
                del self._outbox[:written]
        except OSError as exc:
            self._gone(f"writing to the Deno worker failed: {exc.strerror or exc}")
            raise WorkerGone("the Deno worker is not running") from None

    def _writable(self) -> None:
        spawned = self._spawned
        if spawned is None or not self.alive:
            return
        try:
            while self._outbox:
                written = os.write(spawned.stdin_fd, self._outbox)
                del self._outbox[:written]
        except BlockingIOError:
            pass
        except OSError as exc:
            self._gone(f"writing to the Deno worker failed: {exc.strerror or exc}")
            return
        loop = self._loop
        if loop is None:  # pragma: no cover - only called while attached
            return
        if self._outbox and not self._writing:
            loop.add_writer(spawned.stdin_fd, self._writable)
            self._writing = True
        elif not self._outbox and self._writing:
            loop.remove_writer(spawned.stdin_fd)
            self._writing = False

    def receive_sync(self, *, timeout: float) -> Frame:
        """The next frame, blocking (node loading); frames for runs in flight are dispatched."""
        spawned = self._spawned
        if spawned is None or not self.alive:
            raise WorkerGone("the Deno worker is not running")
        loop = self._loop if self._loop is not None and not self._loop.is_closed() else None
        if loop is not None:
            loop.remove_reader(spawned.stdout_fd)
        try:
            return self._receive_blocking(spawned, timeout)
        finally:
            if loop is not None and self.alive:
                loop.add_reader(spawned.stdout_fd, self._readable)

    def _receive_blocking(self, spawned: LaunchedWorker, timeout: float) -> Frame:
        deadline = time.monotonic() + timeout
        pending: list[Frame] = []
        while not pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # Stuck (top-level code that never finishes): it cannot serve anything else.
                self._gone(f"the Deno worker did not answer within {timeout:g}s")
                raise WorkerGone(f"the Deno worker did not answer within {timeout:g}s")
            # Keep writing queued frames while waiting: the worker may be blocked writing to us.
            wanted = [spawned.stdin_fd] if self._outbox else []
            readable, writable, _ = select.select([spawned.stdout_fd], wanted, [], remaining)
            if writable:
                with contextlib.suppress(BlockingIOError):
                    del self._outbox[: os.write(spawned.stdin_fd, self._outbox)]
            if not readable:
                continue
            chunk = os.read(spawned.stdout_fd, 1 << 16)
            if not chunk:
                self._gone("the Deno worker exited")
                raise WorkerGone("the Deno worker exited")
            pending = self._buffer.feed(chunk)
        first, *rest = pending
        for frame in rest:  # frames of runs in flight (a reload while serving)
            self._on_frame(frame)
        return first

    def attach(self) -> None:
        """Deliver frames on the running loop from now on (re-attaches after asyncio.run ends)."""
        loop = asyncio.get_running_loop()
        if self._loop is loop or self._spawned is None or not self.alive:
            return
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self._spawned.stdout_fd)
                self._loop.remove_reader(self._spawned.stderr_fd)
                self._loop.remove_writer(self._spawned.stdin_fd)
        self._writing = False
        self._loop = loop
        os.set_blocking(self._spawned.stdin_fd, False)
        loop.add_reader(self._spawned.stdout_fd, self._readable)
        os.set_blocking(self._spawned.stderr_fd, False)
        loop.add_reader(self._spawned.stderr_fd, self._stderr_readable)

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    def _readable(self) -> None:
        spawned = self._spawned
        if spawned is None:
            return
        try:
            chunk = os.read(spawned.stdout_fd, 1 << 18)
        except BlockingIOError:
            return
        except OSError as exc:
            self._gone(f"reading from the Deno worker failed: {exc.strerror or exc}")
            return
        if not chunk:
            self._gone("the Deno worker exited")
            return
        try:
            frames = self._buffer.feed(chunk)
        except (WorkerGone, ValueError) as exc:
            self.kill()
            self._gone(f"the Deno worker broke the protocol ({exc})")
            return
        for frame in frames:
            self._on_frame(frame)

    def _stderr_readable(self) -> None:
        """Deno's own diagnostics (node code's console output travels as log frames)."""
        spawned = self._spawned
        if spawned is None:
            return
        try:
            chunk = os.read(spawned.stderr_fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            if self._loop is not None:
                with contextlib.suppress(Exception):
                    self._loop.remove_reader(spawned.stderr_fd)
            return
        self._stderr += chunk
        *lines, rest = self._stderr.split(b"\n")
        self._stderr = bytearray(rest)
        for line in lines:
            if line.strip():
                self._on_frame(
                    {"t": "log", "id": None, "level": "warning", "msg": line.decode(errors="replace")}
                )

    def kill(self) -> None:
        spawned = self._spawned
        if spawned is not None and self.alive:
            with contextlib.suppress(Exception):
                spawned.kill()

    def close(self) -> None:
        """Ask the worker to finish (stdin EOF) and forget it."""
        self._gone(None)

    def _gone(self, reason: str | None) -> None:
        spawned = self._spawned
        if spawned is None or not self.alive:
            return
        self.stderr_text()  # keep what it said last: start-up failures are explained by it
        self.alive = False
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(Exception):
                self._loop.remove_reader(spawned.stdout_fd)
                self._loop.remove_reader(spawned.stderr_fd)
                self._loop.remove_writer(spawned.stdin_fd)
        self._outbox.clear()
        for fd in (spawned.stdin_fd, spawned.stdout_fd, spawned.stderr_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        if reason is not None:
            with contextlib.suppress(Exception):
                spawned.kill()
        try:
            spawned.wait(timeout=2)  # stdin EOF ends the worker promptly
        except Exception:
            with contextlib.suppress(Exception):
                spawned.kill()
                spawned.wait(timeout=2)
        if reason is not None:
            self._on_exit(reason)
