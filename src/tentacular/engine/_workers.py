"""Pre-forked worker processes sharing one listening socket (``--workers N``).

The workflow is parsed, secrets resolved and the socket bound once; then the
process forks and every worker installs the runtime guard (which forbids fork)
and imports the nodes itself. The kernel spreads connections over the workers.
The parent only supervises: it forwards SIGTERM/SIGINT, waits for every worker
to drain, and exits 0 when all of them did.
Hot reload needs one process, so ``--watch`` always runs a single worker.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable
from typing import Any


def run_workers(count: int, serve_one: Callable[[bool], int]) -> int:
    children: list[int] = []
    for index in range(count):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                code = serve_one(index == 0)
            except BaseException:
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
        children.append(pid)

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
