"""The engine survives its nodes (issue 11, Build 3).

- ``NodeThreads``: sync ``def run`` nodes run on daemon threads, at most ``size`` at a time.
  A thread whose node timed out cannot be stopped; it is counted as *leaked*, its slot is
  given back at once (the pool is replaced, not exhausted), the timeout message says
  "still running in a leaked thread", and past ``max_leaked`` such threads new sync runs
  fail fast instead of queueing forever. Daemon threads never hold up process exit, so
  Ctrl-C ends ``tntc run --local`` / ``tntc dev`` even with a node stuck in one.
- ``LoopWatchdog``: an async node that blocks the event loop (``time.sleep`` in
  ``async def``, a busy loop) stops ``/health`` and every other run. A watchdog thread sees
  the loop's heartbeat stop; when the main thread is running node code it sends itself
  SIGUSR2, whose handler raises ``LoopBlocked`` in the node (interrupting ``time.sleep``
  too). The node fails with a clear message; the loop serves again within about
  ``limit`` seconds. Code stuck inside one C call that never returns to the interpreter
  cannot be interrupted this way (docs/security.md).
  While the node's own code is running (its file is the innermost Python frame: a busy
  loop, a ``time.sleep``), the limit is wall time. While a library it called is running
  (importing a module, building a TLS context), the limit counts only time the main thread
  held a CPU or slept: time spent runnable but waiting for a CPU (a loaded host, a pod
  throttled by its CPU limit) is subtracted, read from the kernel's per-thread scheduler
  statistics, so a busy host does not turn a node's first ``fetch`` into a
  "blocked the event loop" failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tentacular.errors import TentacularError

LOOP_BLOCK_LIMIT = 0.5  # seconds an async node may hold the event loop without yielding
_HEARTBEAT = 0.1
_SIGNAL = signal.SIGUSR2
_ENGINE_CODE = str(Path(__file__).absolute().parent.parent) + os.sep  # tentacular/, as co_filename spells it

LEAKED_TASKS: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()


class LoopBlocked(BaseException):  # a BaseException: node code catching Exception cannot swallow it
    """Raised in an async node that kept the event loop from running."""


class NodeThreadsExhausted(TentacularError):
    """Too many sync nodes are still running in leaked threads."""


def still_running_note(task: asyncio.Task[Any] | None) -> str:
    return " (still running in a leaked thread)" if task is not None and task in LEAKED_TASKS else ""


def describe_node_exit(node: str, error: BaseException) -> str:
    if isinstance(error, LoopBlocked):
        return (
            f'Node "{node}" blocked the event loop for more than {round(LOOP_BLOCK_LIMIT * 1000)}ms '
            "(time.sleep or CPU-bound work in async def) — use await asyncio.sleep, or a plain def run"
        )
    if isinstance(error, SystemExit):
        return f'Node "{node}" tried to end the engine (SystemExit: {error.code!r}); return or raise instead'
    detail = f": {error}" if str(error) else ""
    return f'Node "{node}" raised {type(error).__name__}{detail}; it must raise an Exception'


class NodeThreads:
    """A bounded set of daemon threads for sync nodes that is replaced when threads overrun."""

    def __init__(self, size: int = 8, max_leaked: int = 32) -> None:
        self.size = size
        self.max_leaked = max_leaked
        self.leaked = 0
        self._lock = threading.Lock()
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def _semaphore(self, loop: asyncio.AbstractEventLoop) -> asyncio.Semaphore:
        slots = self._slots.get(loop)
        if slots is None:
            slots = self._slots[loop] = asyncio.Semaphore(self.size)
        return slots

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        if self.leaked >= self.max_leaked:
            raise NodeThreadsExhausted(
                f"{self.leaked} sync node(s) are still running in leaked threads after timing out; "
                "new sync runs are refused until they end",
                hint="make the node return within its timeout, or restart the engine",
            )
        loop = asyncio.get_running_loop()
        slots = self._semaphore(loop)
        await slots.acquire()
        future: asyncio.Future[Any] = loop.create_future()
        context = contextvars.copy_context()
        state = {"leaked": False}

        def settle(result: Any, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        def work() -> None:
            try:
                outcome: tuple[Any, BaseException | None] = (context.run(function, *args), None)
            except BaseException as exc:  # SystemExit and friends in a thread are the node's error too
                outcome = (None, exc)
            with contextlib.suppress(RuntimeError):  # the loop is gone (the command ended)
                loop.call_soon_threadsafe(settle, *outcome)
            with self._lock:
                if state["leaked"]:
                    self.leaked -= 1

        thread = threading.Thread(target=work, daemon=True, name="tentacular-sync-node")
        thread.start()
        try:
            return await future
        except asyncio.CancelledError:
            with self._lock:
                if thread.is_alive():
                    state["leaked"] = True
                    self.leaked += 1
                    task = asyncio.current_task()
                    if task is not None:
                        LEAKED_TASKS.add(task)
            raise
        finally:
            slots.release()


_threads = NodeThreads()


def node_threads() -> NodeThreads:
    return _threads


class LoopWatchdog:
    """Interrupts an async node that keeps the event loop from running (see the module docstring)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, node_dirs: tuple[str, ...], limit: float) -> None:
        self.loop = loop
        self.node_dirs = node_dirs
        self.limit = limit
        self.tick = time.monotonic()
        self.waited_at_tick = _run_queue.waited()
        self.main = threading.main_thread().ident

    def start(self) -> None:
        signal.signal(_SIGNAL, self._on_signal)
        self.loop.call_soon(self._beat)
        threading.Thread(target=self._watch, daemon=True, name="tentacular-loop-watchdog").start()

    def _beat(self) -> None:
        self.tick = time.monotonic()
        self.waited_at_tick = _run_queue.waited()
        if not self.loop.is_closed():
            self.loop.call_later(_HEARTBEAT, self._beat)

    def _in_node_code(self, frame: Any) -> bool:
        """Node code is running (or blocking in a call it made), not the engine on its behalf.

        Walking out from the innermost frame, reaching engine code first means the node is
        inside a ``ctx`` call (the shared HTTP client loading its trust store on a loaded
        machine, say): that is the engine's own work, not the node holding the loop."""
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename.startswith(self.node_dirs):
                return True
            if filename.startswith(_ENGINE_CODE):
                return False
            frame = frame.f_back
        return False

    def _blocked(self, frame: Any) -> bool:
        """Whether the node has held the loop too long (see the module docstring)."""
        wall = time.monotonic() - self.tick
        if wall <= self.limit:
            return False
        if frame is not None and frame.f_code.co_filename.startswith(self.node_dirs):
            return True
        return wall - (_run_queue.waited() - self.waited_at_tick) > self.limit

    def _watch(self) -> None:
        while not self.loop.is_closed():
            time.sleep(_HEARTBEAT)
            if time.monotonic() - self.tick <= self.limit or self.main is None:
                continue
            frame = sys._current_frames().get(self.main)
            if self._blocked(frame) and self._in_node_code(frame):
                signal.pthread_kill(self.main, _SIGNAL)
                time.sleep(_HEARTBEAT)  # give the handler a moment before asking again

    def _on_signal(self, _signum: int, frame: Any) -> None:
        if self._blocked(frame) and self._in_node_code(frame):
            raise LoopBlocked


class RunQueueClock:
    """Seconds the main thread has spent runnable but waiting for a CPU.

    The second field of ``/proc/self/task/<tid>/schedstat``. The file is opened when this
    module is imported, before the kernel layer closes ``/proc``; an open descriptor keeps
    working afterwards. Where the file does not exist (no schedstats, gVisor) it reads 0,
    and the watchdog falls back to wall time.
    """

    def __init__(self) -> None:
        self._fd: int | None = None
        self._open(getattr(threading.main_thread(), "native_id", None))
        # A forked worker (--workers N) must read its own thread's file, not its parent's.
        os.register_at_fork(after_in_child=self._reopen_in_child)

    def _open(self, tid: int | None) -> None:
        if tid is None:
            return
        with contextlib.suppress(OSError):
            self._fd = os.open(f"/proc/self/task/{tid}/schedstat", os.O_RDONLY | os.O_CLOEXEC)

    def _reopen_in_child(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        self._open(threading.get_native_id())  # the forking thread: the child's only one

    def waited(self) -> float:
        if self._fd is None:
            return 0.0
        try:
            fields = os.pread(self._fd, 96, 0).split()
            return int(fields[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return 0.0


_run_queue = RunQueueClock()


_watchdogs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopWatchdog] = weakref.WeakKeyDictionary()


def watch_loop(nodes_dir: str, *, limit: float = LOOP_BLOCK_LIMIT) -> None:
    """Start the watchdog for the running loop once (main thread only; elsewhere a no-op)."""
    loop = asyncio.get_running_loop()
    if loop in _watchdogs or threading.current_thread() is not threading.main_thread():
        return
    dog = LoopWatchdog(loop, (nodes_dir.rstrip("/") + "/",), limit)
    _watchdogs[loop] = dog
    dog.start()
