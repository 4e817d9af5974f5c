"""``tntc test`` runs the nodes in a child process under the same limits as the engine.

The kernel layer and the audit hooks are irreversible, and the process calling
``run_tests`` (the ``tntc`` CLI, or a pytest session driving it) must stay free, so the
work is forked into a child that confines itself to the workflow's contract first — the
guard and the seccomp/Landlock layer of ``tntc run --local`` — then runs the cases and
sends the report back over a pipe. Its stdout and stderr (node prints, guard refusals)
travel with the report and are replayed on the caller's stderr, so capture works as
before. A child that dies (``os._exit`` in a node, a crash) becomes a clear error, and
Ctrl-C in the caller kills the child at once, even when a node is stuck in a thread.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tentacular.errors import TentacularError

T = TypeVar("T")


class ConfinedRunCrashed(TentacularError):
    """The confined child exited without a report."""


def run_confined(directory: Path, work: Callable[[], T]) -> T:
    """``work()`` in a child confined to the workflow in ``directory``; its result, or its error."""
    from tentacular.spec import load_workflow

    loaded = load_workflow(directory)  # a broken workflow fails here, unconfined and located
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the confined child, tested through its behaviour
        os.close(read_end)
        _child(write_end, str(loaded.directory.resolve()), loaded, work)
    os.close(write_end)
    try:
        data = _read_all(read_end)
        _, status = os.waitpid(pid, 0)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        raise
    finally:
        os.close(read_end)
    if not data:
        code = os.waitstatus_to_exitcode(status)
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        raise ConfinedRunCrashed(
            f"the test process {how} before reporting (a node ended the process, e.g. os._exit)",
            hint="a node must return or raise; the engine treats ending the process as a crash",
        )
    ok, value, output = pickle.loads(data)  # our own child, over a private pipe
    if output:
        sys.stderr.write(output)
    if not ok:
        raise value
    result: T = value
    return result


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _child(
    write_end: int, directory: str, loaded: object, work: Callable[[], object]
) -> None:  # pragma: no cover
    code = 1
    captured = io.StringIO()
    try:
        from tentacular.engine._guard import confine_process

        sys.stdout = sys.stderr = captured
        confine_process(
            loaded.workflow,  # type: ignore[attr-defined]
            directory,
            report=lambda level, message: print(f"{level}: {message}", file=captured),
        )
        try:
            payload: tuple[bool, object] = (True, work())
        except TentacularError as exc:
            payload = (False, exc)
        try:
            data = pickle.dumps((*payload, captured.getvalue()))
        except Exception as exc:
            error = TentacularError(f"the test report could not be sent back: {exc}")
            data = pickle.dumps((False, error, captured.getvalue()))
        view = memoryview(data)
        while view:
            view = view[os.write(write_end, view) :]
        code = 0
    except BaseException as exc:
        with contextlib.suppress(Exception):
            os.write(2, f"tntc test: {type(exc).__name__}: {exc}\n".encode())
    finally:
        os._exit(code)
