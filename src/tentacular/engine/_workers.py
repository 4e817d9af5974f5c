"""Pre-forked worker processes sharing one listening socket (``--workers N``).

The workflow is parsed and validated, secrets resolved and the port bound once; then
``gc.freeze()`` moves everything loaded so far out of the collector's reach (a
collection in a worker would otherwise write to every page it scans and undo the
copy-on-write sharing) and the process forks. Every worker binds its own
``SO_REUSEPORT`` listener on that port, installs the runtime guard (which forbids
fork) and imports the nodes itself: node code never runs before the guard, so it
cannot be loaded before the fork. The kernel spreads connections over the workers.
The parent only supervises: it forwards SIGTERM/SIGINT, waits for every worker
to drain, and exits 0 when all of them did. A worker whose parent dies without
forwarding (SIGKILL, the OOM killer) gets SIGTERM from the kernel (Linux
``PR_SET_PDEATHSIG``) and drains, instead of serving on with no supervisor.
Hot reload needs one process, so ``--watch`` always runs a single worker.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any


def run_workers(count: int, serve_one: Callable[[bool], int], shared: socket.socket | None = None) -> int:
    """Fork ``count`` workers running ``serve_one(first)``; exit 0 when all of them did."""
    children: list[int] = []
    gc.collect()
    gc.freeze()
    parent = os.getpid()
    for index in range(count):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                _stop_with_parent(parent)
                code = serve_one(index == 0)
            except BaseException:
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
        children.append(pid)
    if shared is not None:
        shared.close()  # the workers listen on their own sockets; the port stays theirs

    def forward(signum: int, _frame: Any) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    failed = False
    for child in children:
        _, status = os.waitpid(child, 0)
        failed = failed or os.waitstatus_to_exitcode(status) != 0
    return 1 if failed else 0


_PR_SET_PDEATHSIG = 1


def _stop_with_parent(parent: int) -> None:
    """Ask the kernel for SIGTERM when the parent dies (Linux); exit now if it already has."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # it died between fork() and prctl(): nobody would signal us
        os._exit(1)
