"""Client spans of a TypeScript node's dependency requests (only while tracing is on).

The request itself runs in Deno; the worker asks for a span before it sends
(``spanStart``: the engine opens a CLIENT span under the node's span and returns
its ``traceparent`` for the request headers) and reports the outcome after
(``spanEnd``), so the trace shows the same client spans as for a Python node.
"""

from __future__ import annotations

import itertools
from typing import Any


class ScriptError(Exception):
    """A JavaScript error, named after its class, for the span's ``error.type``."""


class ClientSpans:
    def __init__(self, services: Any) -> None:
        self._observability = getattr(services, "telemetry", None)
        self._open: dict[int, Any] = {}
        self._ids = itertools.count(1)

    @property
    def _tracing(self) -> Any:
        return getattr(self._observability, "tracing", None)

    def start(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Open a span (call this in the node task's context, so it is the parent)."""
        tracing = self._tracing
        if tracing is None:
            return {}
        url = str(frame.get("url", ""))
        redact = getattr(self._observability, "redact", None)
        if redact is not None:
            url = redact(url)
        port = frame.get("port")
        span = tracing.start_client(
            str(frame.get("method", "GET")),
            url,
            str(frame.get("host", "")),
            int(port) if port else None,
            parent=self._observability.current_span() if self._observability is not None else None,
        )
        headers: dict[str, str] = {}
        tracing.inject(span, headers)
        sid = next(self._ids)
        self._open[sid] = span
        return {"sid": sid, "traceparent": headers.get("traceparent")}

    def end(self, frame: dict[str, Any]) -> None:
        span = self._open.pop(int(frame.get("sid") or 0), None)
        tracing = self._tracing
        if span is None or tracing is None:
            return
        error = frame.get("error")
        failure = None
        if isinstance(error, dict):
            failure = type(str(error.get("name") or "Error"), (ScriptError,), {})(
                str(error.get("message", ""))
            )
        status = frame.get("status")
        tracing.end_client(span, int(status) if isinstance(status, int) else None, failure)

    def close(self) -> None:
        """The attempt ended with requests still open (cancelled): end their spans as failed."""
        for sid in list(self._open):
            self.end({"sid": sid, "error": {"name": "CancelledError", "message": "the node attempt ended"}})
