"""Eager tasks: a node's task runs its first step at once, inside the caller's step.

Most nodes return without ever suspending (pure compute, a cache hit); scheduling a
task for them costs a ``call_soon`` handle and a full event-loop iteration (an epoll
round trip) per node. An eager task runs the coroutine synchronously up to its first
suspension; one that finishes is never scheduled at all. It is still a real task:
``asyncio.current_task()`` inside the node is the node's own task (``asyncio.timeout``,
anyio cancel scopes and self-cancellation behave exactly as with ``create_task``), and
it runs in its own copy of the context.

Python 3.12 has this built in (``eager_start=True``). On 3.11 the pure-Python task
class provides it: its ``__step`` is run directly instead of through ``call_soon``,
with the caller's task swapped out for the duration, as 3.12 does in C.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import types
from collections.abc import Coroutine, Generator
from typing import Any

__all__ = ["resume", "start_eager"]

if sys.version_info >= (3, 12):

    def start_eager(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        """A task for ``coro`` whose first step has already run (it may be done on return)."""
        return asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg,unused-ignore]

else:  # pragma: no cover - exercised on 3.11, where CI runs
    from asyncio import futures as _futures
    from asyncio import tasks as _tasks

    _PyTask: Any = _tasks._PyTask  # type: ignore[attr-defined]
    _current_task = _tasks.current_task
    _enter_task = _tasks._enter_task
    _leave_task = _tasks._leave_task
    _register_task = _tasks._register_task
    _future_init = _futures._PyFuture.__init__  # type: ignore[attr-defined]

    class _EagerTask(_PyTask):  # type: ignore[misc]
        """``asyncio.tasks._PyTask`` without the initial ``call_soon`` (set up as its ``__init__`` does)."""

        def __init__(self, coro: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop) -> None:
            _future_init(self, loop=loop)
            self._name = "tentacular-node"
            self._num_cancels_requested = 0
            self._must_cancel = False
            self._fut_waiter = None
            self._coro = coro
            self._context = contextvars.copy_context()

    _step = _PyTask._Task__step

    def start_eager(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        """A task for ``coro`` whose first step has already run (it may be done on return)."""
        task = _EagerTask(coro, loop)
        outer = _current_task(loop)
        if outer is not None:
            _leave_task(loop, outer)
        try:
            task._context.run(_step, task)
        finally:
            if outer is not None:
                _enter_task(loop, outer)
        if not task.done():
            _register_task(task)  # visible to asyncio.all_tasks() like any other pending task
        return task  # type: ignore[no-any-return,unused-ignore]


@types.coroutine
def resume(coro: Coroutine[Any, Any, Any], pending: Any) -> Generator[Any, Any, Any]:
    """Await ``coro`` whose first step the caller already ran and which yielded ``pending``.

    Yields, sends and throws pass through unchanged, so the task driving the caller sees
    exactly the futures (and cancellations) it would see awaiting ``coro`` directly.
    """
    while True:
        try:
            sent = yield pending
        except BaseException as exc:  # cancellation, GeneratorExit: the node gets it where it waits
            try:
                pending = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                pending = coro.send(sent)
            except StopIteration as stop:
                return stop.value
