"""Every text channel of the engine process is redacted (issue 11, Build 4).

``install_output_redaction(redactor)`` is called once by each process that runs nodes (the
pod's engine, ``tntc run --local``, ``tntc dev``, the confined child of ``tntc test``):

- ``sys.stdout`` and ``sys.stderr`` become ``RedactingStream``s that write to the process's
  real stderr. A node's ``print()`` (to either stream), ``warnings``, ``sys.excepthook`` and
  ``threading.excepthook`` tracebacks and the ``logging`` module's default handler all go
  there, redacted line by line. Node output never reaches stdout, so the ``-o json``
  envelope stays one document: the CLI writes it to ``results_stream`` — the real stdout,
  kept as an attribute of the replacement (``getattr(sys.stdout, "results_stream",
  sys.stdout)``, so nothing has to import this module to find it).
- A ``logging`` record factory redacts every record when it is created (message, arguments,
  the formatted exception and stack), so handlers that hold the original streams or write
  to files redact too; asyncio's tracebacks pass through it (the server logs through the sink).

Not covered (docs/security.md): bytes written to file descriptors 1 and 2 directly
(``os.write``, C code), and secrets that are not in the redactor (``ctx.secrets`` values
a node derived by hashing or encrypting).
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import threading
import traceback
from typing import Any, TextIO

from tentacular.engine._redaction import Redactor

_LINE_LIMIT = 8192  # a line longer than this is written in pieces (minus a possible secret prefix)
_active = Redactor(())
_factory_installed = False


def active_redactor() -> Redactor:
    return _active


class RedactingStream(io.TextIOBase):
    """A line-buffered text stream that redacts each line before writing it to ``target``."""

    def __init__(self, target: TextIO, *, results_stream: TextIO | None = None) -> None:
        super().__init__()
        self.target = target
        self.results_stream = results_stream if results_stream is not None else target
        self._pending = ""
        self._lock = threading.RLock()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.target, "errors", None)

    @property
    def buffer(self) -> _BytesView:
        return _BytesView(self)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return bool(getattr(self.target, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self.target.fileno()  # os.write on it reaches stderr, not the envelope

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            self._pending += text
            if "\n" in text:
                complete, _, self._pending = self._pending.rpartition("\n")
                self._send(complete + "\n")
            if len(self._pending) > _LINE_LIMIT:
                self._send_all_but_a_possible_prefix()
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._send_all_but_a_possible_prefix()
            self._flush_target()

    def _send_all_but_a_possible_prefix(self) -> None:
        keep = _active.holdback(self._pending)
        cut = len(self._pending) - keep
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        if ready:
            self._send(ready)

    def _send(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):  # the real stream is gone (closed pipe, exit)
            self.target.write(_active.text(text))

    def _flush_target(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.target.flush()


class _BytesView:
    """``sys.stdout.buffer`` for code that writes bytes: decoded, then redacted like text."""

    def __init__(self, stream: RedactingStream) -> None:
        self._stream = stream

    def write(self, data: bytes) -> int:
        self._stream.write(bytes(data).decode(self._stream.encoding, "replace"))
        return len(data)

    def flush(self) -> None:
        self._stream.flush()


def install_output_redaction(
    redactor: Redactor, *, target: TextIO | None = None, results_stream: TextIO | None = None
) -> None:
    """Route ``sys.stdout``/``sys.stderr`` through ``redactor`` to ``target`` (default: the real stderr).

    Idempotent: a second call only changes the redactor. ``results_stream`` is where the
    envelope goes (default: the current stdout)."""
    global _active
    _active = redactor
    _install_log_record_factory()
    if isinstance(sys.stdout, RedactingStream) and isinstance(sys.stderr, RedactingStream):
        return
    real_stderr = sys.stderr
    destination = target if target is not None else real_stderr
    results = results_stream if results_stream is not None else sys.stdout
    sys.stdout = RedactingStream(destination, results_stream=results)
    sys.stderr = RedactingStream(destination, results_stream=results)


def add_secrets(values: Any) -> None:
    """Also redact ``values`` (a ``{service: {key: value}}`` mapping) from now on (``tntc test`` fixtures)."""
    global _active
    extra = Redactor.for_secrets(values).secrets
    if extra and not set(extra) <= set(_active.secrets):
        _active = Redactor((*_active.secrets, *extra))


def _install_log_record_factory() -> None:
    global _factory_installed
    if _factory_installed:
        return
    _factory_installed = True
    previous = logging.getLogRecordFactory()

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redactor = _active
        if not redactor:
            return record
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it later, unredacted args dropped
            message = str(record.msg)
        record.msg, record.args = redactor.text(message), None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            formatted = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = redactor.text(formatted)
        if record.stack_info:
            record.stack_info = redactor.text(record.stack_info)
        return record

    logging.setLogRecordFactory(redacting_factory)


def results_stream() -> TextIO:
    """Where a command's result document goes: the real stdout, even while node output is captured."""
    stream = sys.stdout
    return getattr(stream, "results_stream", stream)


def redacting_output_first(installer: Any) -> Any:
    """Wrap a start-up guard installer (or None) so node output is redacted before any node loads."""

    def install(prepared: Any) -> None:
        install_output_redaction(prepared.services.redactor)
        if installer is not None:
            installer(prepared)

    return install
