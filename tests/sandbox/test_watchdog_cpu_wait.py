"""The loop watchdog does not blame a node for time its thread spent waiting for a CPU.

On a loaded host or in a pod throttled by its CPU limit, a node's first ``fetch`` (building
the HTTP client and its TLS context) can take far longer than the limit in wall time while
holding the CPU for only a fraction of it. That is not the node blocking the loop; a busy
loop or ``time.sleep`` in the node's own code still is, whatever the host's load.
"""

from __future__ import annotations

import asyncio
import sys
from types import FrameType
from typing import Any

import pytest

from tentacular.engine import _survival


def _frame_in(filename: str) -> FrameType:
    namespace: dict[str, Any] = {"sys": sys}
    exec(compile("frame = sys._getframe()", filename, "exec"), namespace)
    frame: FrameType = namespace["frame"]
    return frame


class _FakeRunQueue:
    def __init__(self) -> None:
        self.seconds = 0.0

    def waited(self) -> float:
        return self.seconds


@pytest.fixture
def watchdog(monkeypatch: pytest.MonkeyPatch) -> tuple[_survival.LoopWatchdog, _FakeRunQueue, list[float]]:
    run_queue = _FakeRunQueue()
    now = [100.0]
    monkeypatch.setattr(_survival, "_run_queue", run_queue)
    monkeypatch.setattr(_survival.time, "monotonic", lambda: now[0])
    loop = asyncio.new_event_loop()
    dog = _survival.LoopWatchdog(loop, ("/workflow/nodes/",), 0.5)
    loop.close()
    return dog, run_queue, now


def test_library_work_that_waited_for_a_cpu_is_not_blocking(watchdog: Any) -> None:
    dog, run_queue, now = watchdog
    library = _frame_in("/venv/site-packages/httpx/_client.py")
    now[0] += 0.9
    run_queue.seconds += 0.7  # 0.9 s passed, 0.7 s of it runnable but off the CPU
    assert not dog._blocked(library)


def test_library_work_that_held_the_cpu_past_the_limit_is_blocking(watchdog: Any) -> None:
    dog, run_queue, now = watchdog
    library = _frame_in("/venv/site-packages/somelib/compute.py")
    now[0] += 0.9
    run_queue.seconds += 0.1
    assert dog._blocked(library)


def test_the_nodes_own_code_is_judged_by_wall_time_even_on_a_busy_host(watchdog: Any) -> None:
    dog, run_queue, now = watchdog
    busy_loop = _frame_in("/workflow/nodes/probe.py")
    now[0] += 0.6
    run_queue.seconds += 0.5  # sharing the CPU does not excuse a loop that never yields
    assert dog._blocked(busy_loop)


def test_nothing_is_blocking_within_the_limit(watchdog: Any) -> None:
    dog, _run_queue, now = watchdog
    now[0] += 0.4
    assert not dog._blocked(_frame_in("/workflow/nodes/probe.py"))


def test_the_run_queue_clock_reads_this_threads_wait_time() -> None:
    clock = _survival.RunQueueClock()
    first = clock.waited()
    assert first >= 0.0
    assert clock.waited() >= first
