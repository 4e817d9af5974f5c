"""``tntc test`` runs the nodes in a child process under the same limits as the engine.

The kernel layer and the audit hooks are irreversible, and the process calling
``run_tests`` (the ``tntc`` CLI, or a pytest session driving it) must stay free, so the
work is forked into a child that confines itself to the workflow's contract first — the
guard and the seccomp/Landlock layer of ``tntc run --local`` — then runs the cases and
sends the report back over a pipe. Its stdout and stderr (node prints, guard refusals,
logging, tracebacks) are redacted in the child and streamed, as they happen, over a second
pipe to the caller's ``sys.stderr``, so a stuck node's output shows at once and capture
works as before. A child that dies (``os._exit`` in a node, a crash) becomes a clear error, and
Ctrl-C in the caller kills the child at once, even when a node is stuck in a thread.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import pickle
import selectors
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tentacular.errors import TentacularError

T = TypeVar("T")


class ConfinedRunCrashed(TentacularError):
    """The confined child exited without a report."""


_progress_fd: list[int] = []  # in the child: where report_progress() writes


def report_progress(item: object) -> None:
    """From inside ``work()``: send ``item`` to the caller's ``on_progress`` now (e.g. a finished case)."""
    if not _progress_fd:
        return
    data = pickle.dumps(item)
    view = memoryview(len(data).to_bytes(4, "big") + data)
    while view:
        view = view[os.write(_progress_fd[0], view) :]


def run_confined(
    directory: Path, work: Callable[[], T], *, on_progress: Callable[[object], None] | None = None
) -> T:
    """``work()`` in a child confined to the workflow in ``directory``; its result, or its error.

    ``on_progress`` receives, in the caller, each item the child passes to ``report_progress``.
    """
    from tentacular.spec import load_workflow

    loaded = load_workflow(directory)  # a broken workflow fails here, unconfined and located
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    output_read, output_write = os.pipe()
    progress_read, progress_write = os.pipe() if on_progress is not None else (-1, -1)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the confined child, tested through its behaviour
        os.close(read_end)
        os.close(output_read)
        if progress_read >= 0:
            os.close(progress_read)
            _progress_fd.append(progress_write)
        _child(write_end, output_write, str(loaded.directory.resolve()), loaded, work)
    os.close(write_end)
    os.close(output_write)
    reader = None
    if on_progress is not None:
        os.close(progress_write)
        reader = threading.Thread(target=_relay, args=(progress_read, on_progress), daemon=True)
        reader.start()
    try:
        data = _collect(read_end, output_read)
        _, status = os.waitpid(pid, 0)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        raise
    finally:
        os.close(read_end)
        os.close(output_read)
        if reader is not None:
            reader.join(5)  # the child has exited: its end of the pipe is closed
    if not data:
        code = os.waitstatus_to_exitcode(status)
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        raise ConfinedRunCrashed(
            f"the test process {how} before reporting (a node ended the process, e.g. os._exit)",
            hint="a node must return or raise; the engine treats ending the process as a crash",
        )
    ok, value = pickle.loads(data)  # our own child, over a private pipe
    if not ok:
        raise value
    result: T = value
    return result


def _relay(fd: int, on_progress: Callable[[object], None]) -> None:
    """Progress items as they arrive; the pipe ends when the child exits."""
    buffer = b""
    try:
        while chunk := os.read(fd, 1 << 16):
            buffer += chunk
            while len(buffer) >= 4 and len(buffer) >= 4 + (size := int.from_bytes(buffer[:4], "big")):
                item, buffer = buffer[4 : 4 + size], buffer[4 + size :]
                with contextlib.suppress(Exception):  # a display problem must not lose the report
                    on_progress(pickle.loads(item))  # our own child, over a private pipe
    finally:
        os.close(fd)


def _collect(report_fd: int, output_fd: int) -> bytes:
    """The report's bytes; the child's output is copied to ``sys.stderr`` as it arrives."""
    chunks: list[bytes] = []
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    with selectors.DefaultSelector() as selector:
        selector.register(report_fd, selectors.EVENT_READ)
        selector.register(output_fd, selectors.EVENT_READ)
        open_fds = 2
        while open_fds:
            for key, _ in selector.select():
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    selector.unregister(key.fd)
                    open_fds -= 1
                elif key.fd == report_fd:
                    chunks.append(chunk)
                else:
                    sys.stderr.write(decoder.decode(chunk))
                    sys.stderr.flush()
    return b"".join(chunks)


def _child(
    write_end: int, output_write: int, directory: str, loaded: object, work: Callable[[], object]
) -> None:  # pragma: no cover
    code = 1
    try:
        from tentacular.engine._guard import confine_process
        from tentacular.engine._output import install_output_redaction
        from tentacular.engine._redaction import Redactor

        output = open(output_write, "w", encoding="utf-8", errors="replace", buffering=1)  # noqa: SIM115
        sys.stdout = sys.stderr = output
        # Redacted from here on; each fixture adds its secrets (testing._runner).
        install_output_redaction(Redactor(()), target=output)
        confine_process(
            loaded.workflow,  # type: ignore[attr-defined]
            directory,
            report=lambda level, message: print(f"{level}: {message}", file=sys.stderr),
        )
        try:
            payload: tuple[bool, object] = (True, work())
        except TentacularError as exc:
            payload = (False, exc)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            data = pickle.dumps(payload)
        except Exception as exc:
            data = pickle.dumps((False, TentacularError(f"the test report could not be sent back: {exc}")))
        view = memoryview(data)
        while view:
            view = view[os.write(write_end, view) :]
        code = 0
    except BaseException as exc:
        with contextlib.suppress(Exception):
            os.write(2, f"tntc test: {type(exc).__name__}: {exc}\n".encode())
    finally:
        os._exit(code)
