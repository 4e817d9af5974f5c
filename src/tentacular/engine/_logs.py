"""Engine and node log lines: JSON lines in a pod or pipe, readable lines in a terminal.

Every line passes through the secrets Redactor first, so a node that logs a secret
(or an exception text containing one) never puts the value on the wire. All lines
go to stderr: stdout stays free for `tntc run -o json` and the result of a run.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, TextIO

from tentacular.engine._secrets import Redactor

LogFormat = Literal["json", "text"]
LEVELS = ("debug", "info", "warning", "error")
_LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}
_TEXT_LABEL = {"debug": "DEBUG", "info": "INFO", "warning": "WARN", "error": "ERROR"}


def detect_format(stream: TextIO) -> LogFormat:
    """JSON lines for machines (in a pod, or output not to a terminal), text for people."""
    forced = os.environ.get("TENTACULAR_LOG_FORMAT")
    if forced in ("json", "text"):
        return forced  # type: ignore[return-value]
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return "json"
    isatty = getattr(stream, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


class LogSink:
    """Where every log line of one engine goes; thread-safe because plain ``def`` nodes log too."""

    def __init__(
        self,
        redactor: Redactor | None = None,
        *,
        stream: TextIO | None = None,
        fmt: LogFormat | None = None,
        level: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.format: LogFormat = fmt or detect_format(self.stream)
        self.redactor = redactor or Redactor(())
        # Debug lines (node debug output, guard details) only when asked for.
        chosen = level or os.environ.get("TENTACULAR_LOG_LEVEL", "info").lower()
        self.min_rank = _LEVEL_RANK.get(chosen, _LEVEL_RANK["info"])
        self._clock = clock
        self._lock = threading.Lock()
        self.lost = 0  # lines the stream refused (its reader gone)
        self.workflow: str | None = None
        self.trace_ids: Callable[[], tuple[str, str] | None] | None = None

    def bind(self, *, workflow: str, trace_ids: Callable[[], tuple[str, str] | None] | None) -> None:
        """Name the workflow on every JSON line; ``trace_ids`` gives the current trace/span ids."""
        self.workflow = workflow
        self.trace_ids = trace_ids

    def emit(
        self,
        level: str,
        message: str,
        *,
        node: str | None = None,
        run: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        if _LEVEL_RANK.get(level, 1) < self.min_rank:
            return
        redact = self.redactor
        text = redact.text(str(message))
        safe_fields = redact.data(_plain(fields)) if fields else None
        if self.format == "json":
            now = self._clock()
            record: dict[str, Any] = {"time": _rfc3339(now), "ts": round(now, 3), "level": level}
            if self.workflow is not None:
                record["workflow"] = self.workflow
            if node is not None:
                record["node"] = node
            if run is not None:
                record["run"] = run
            if self.trace_ids is not None:
                ids = self.trace_ids()
                if ids is not None:
                    record["trace_id"], record["span_id"] = ids
            record["msg"] = text
            if safe_fields:
                record.update({k: v for k, v in safe_fields.items() if k not in record})
            line = json.dumps(record, ensure_ascii=False, default=str)
        else:
            prefix = f"[{node}] " if node is not None else ""
            extra = "".join(f" {k}={_short(v)}" for k, v in (safe_fields or {}).items())
            line = f"{prefix}{_TEXT_LABEL.get(level, level.upper())} {text}{extra}"
        with self._lock:
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # the reader is gone (a closed pipe): the line is lost,
                self.lost += 1  # but logging must never stop a run or a shutdown

    def engine(self, level: str, message: str, **fields: Any) -> None:
        """Lines about the engine itself (startup, reload, shutdown)."""
        self.emit(level, message, fields=fields or None)


def _rfc3339(epoch: float) -> str:
    seconds = int(epoch)
    millis = int((epoch - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _plain(fields: dict[str, Any]) -> dict[str, Any]:
    # Arbitrary objects become strings before redaction so their text is redacted too.
    return {
        str(k): v if isinstance(v, str | int | float | bool | type(None) | list | dict) else str(v)
        for k, v in fields.items()
    }


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if " " not in text else json.dumps(text, ensure_ascii=False)


class NodeLogger:
    """``ctx.log``: the four levels, each line tagged with node id and run id."""

    __slots__ = ("_attempt", "_node", "_run", "_sink")

    def __init__(self, sink: LogSink, node: str, run: str, attempt: int | None = None) -> None:
        self._sink = sink
        self._node = node
        self._run = run
        self._attempt = attempt  # retried workflows tag every line with its attempt number

    def _emit(self, level: str, text: str, fields: dict[str, Any]) -> None:
        if self._attempt is not None:
            fields = {**fields, "attempt": self._attempt}
        self._sink.emit(level, text, node=self._node, run=self._run, fields=fields)

    def debug(self, msg: object, *args: object, **fields: Any) -> None:
        self._emit("debug", _join(msg, args), fields)

    def info(self, msg: object, *args: object, **fields: Any) -> None:
        self._emit("info", _join(msg, args), fields)

    def warning(self, msg: object, *args: object, **fields: Any) -> None:
        self._emit("warning", _join(msg, args), fields)

    def error(self, msg: object, *args: object, **fields: Any) -> None:
        self._emit("error", _join(msg, args), fields)

    warn = warning  # the TypeScript contract spells it ctx.log.warn


def _join(msg: object, args: tuple[object, ...]) -> str:
    # Extra positional args are appended like the original console-style logger did.
    return " ".join(str(part) for part in (msg, *args))
