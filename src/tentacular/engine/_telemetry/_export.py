"""The OTLP/HTTP exporter: a bounded queue of encoded spans drained by one background thread.

``submit_run`` appends a run's spans, already encoded (``_run``, ``_wire``), as one
entry (``submit``: one span, e.g. an outbound HTTP client span), and wakes the thread
when ``EXPORT_BATCH`` entries wait; the thread joins batches into requests and POSTs
them, and every ``METRICS_INTERVAL`` seconds it sends the engine's metrics
(cumulative since start). A slow or absent collector never slows a run: a full
queue drops the entry, a failed request drops its batch, both counted (in spans) in
``tentacular_telemetry_spans_dropped_total``; shutdown waits at most
``SHUTDOWN_TIMEOUT`` seconds. One request at a time, no retries: the next batch is
the retry.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import threading
import time
from collections import deque
from collections.abc import Mapping
from itertools import repeat, starmap
from urllib.parse import urlsplit

from tentacular.engine._telemetry import _wire
from tentacular.engine._telemetry._metrics import SPANS_DROPPED, EngineMetrics
from tentacular.engine._telemetry._spans import SpanRecord

MAX_QUEUE = 2048
EXPORT_BATCH = 512
SCHEDULE_DELAY = 1.0
METRICS_INTERVAL = 15.0
SHUTDOWN_TIMEOUT = 3.0
SCOPE = ("tentacular.engine", "")


class _Endpoint:
    """One collector URL with a kept-alive connection, reopened after any failure."""

    def __init__(self, url: str, headers: Mapping[str, str], timeout: float) -> None:
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.https else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.headers = {"content-type": "application/x-protobuf", **headers}
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None

    def post(self, body: bytes, timeout: float | None = None) -> bool:
        connection = self._connection
        try:
            if connection is None:
                if self.https:
                    import ssl

                    connection = http.client.HTTPSConnection(
                        self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                    )
                else:
                    connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self._connection = connection
            if timeout is not None:
                connection.timeout = timeout
                if connection.sock is not None:
                    connection.sock.settimeout(timeout)
            connection.request("POST", self.path, body, self.headers)
            response = connection.getresponse()
            response.read()
            if response.will_close:
                self.close()
            return 200 <= response.status < 300
        except (OSError, http.client.HTTPException, ValueError):
            self.close()
            return False

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()


class OtlpExporter:
    """Spans (and, with ``metrics_url``, the engine's metrics) to an OTLP/HTTP collector."""

    def __init__(
        self,
        metrics: EngineMetrics,
        resource: Mapping[str, object],
        *,
        traces_url: str,
        metrics_url: str | None,
        traces_headers: Mapping[str, str],
        metrics_headers: Mapping[str, str],
        timeout: float,
        metrics_interval: float = METRICS_INTERVAL,
    ) -> None:
        self._metrics = metrics
        self._resource = _wire.resource(resource)
        self._scope = _wire.scope(*SCOPE)
        self._traces = _Endpoint(traces_url, traces_headers, timeout)
        self._metrics_endpoint = _Endpoint(metrics_url, metrics_headers, timeout) if metrics_url else None
        self._metrics_interval = metrics_interval
        # (span count, encoded spans) per run: bytes and ints, nothing for the garbage collector to walk.
        self._queue: deque[tuple[int, bytes]] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._started_ns = time.time_ns()
        self._thread: threading.Thread | None = None
        self._start_thread()
        # A forked worker (--workers N) starts its own thread; the parent's does not survive fork.
        os.register_at_fork(after_in_child=self._after_fork)

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="tentacular-otlp-export", daemon=True)
        self._thread.start()

    def _after_fork(self) -> None:
        if self._stopping:
            return
        self._queue.clear()
        self._wake = threading.Event()
        self._traces.close()
        if self._metrics_endpoint is not None:
            self._metrics_endpoint.close()
        self._start_thread()

    # --- hot path --------------------------------------------------------------------------

    def submit(self, span: SpanRecord) -> None:
        self.submit_run(1, span.otlp())

    def submit_run(self, count: int, spans: bytes) -> None:
        """``count`` spans, already encoded (``framed``): one queue entry, no objects for the GC."""
        queue = self._queue
        if len(queue) >= MAX_QUEUE:
            self._metrics.add(SPANS_DROPPED, ("queue_full",), float(count))
            return
        queue.append((count, spans))
        if len(queue) == EXPORT_BATCH:
            self._wake.set()

    # --- background thread -----------------------------------------------------------------

    def _loop(self) -> None:
        next_metrics = time.monotonic() + self._metrics_interval
        while not self._stopping:
            self._wake.wait(min(SCHEDULE_DELAY, max(0.0, next_metrics - time.monotonic())))
            self._wake.clear()
            if self._stopping:
                break
            while len(self._queue) >= EXPORT_BATCH:
                self._export_batch()
            self._export_batch()
            if time.monotonic() >= next_metrics:
                self._export_metrics()
                next_metrics = time.monotonic() + self._metrics_interval

    def _take(self) -> list[tuple[int, bytes]]:
        # Only this thread pops, so the length cannot shrink under us; starmap pops in C (no
        # bytecode per entry) while the run thread may keep appending.
        count = min(len(self._queue), EXPORT_BATCH)
        return list(starmap(self._queue.popleft, repeat((), count)))

    def _export_batch(self, timeout: float | None = None) -> None:
        batch = self._take()
        if not batch:
            return
        body = _wire.trace_request(self._resource, self._scope, [spans for _, spans in batch])
        if not self._traces.post(body, timeout):
            self._metrics.add(SPANS_DROPPED, ("export_failed",), float(sum(count for count, _ in batch)))

    def _export_metrics(self, timeout: float | None = None) -> None:
        endpoint = self._metrics_endpoint
        if endpoint is None:
            return
        body = _wire.metrics_request(
            self._resource, self._scope, self._metrics, self._started_ns, time.time_ns()
        )
        if body is not None:
            endpoint.post(body, timeout)

    def flush(self, timeout: float = SHUTDOWN_TIMEOUT) -> None:
        """Send what is queued now, from the calling thread (``tntc run --local`` before it exits)."""
        deadline = time.monotonic() + timeout
        while self._queue and time.monotonic() < deadline:
            self._export_batch(max(0.1, deadline - time.monotonic()))

    def shutdown(self) -> None:
        """Stop the thread, then send the rest and the final metrics within ``SHUTDOWN_TIMEOUT``."""
        if self._stopping:
            return
        self._stopping = True
        self._wake.set()
        deadline = time.monotonic() + SHUTDOWN_TIMEOUT
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(SHUTDOWN_TIMEOUT)
        if thread is not None and thread.is_alive():
            return  # stuck in a request to a black-holed collector: the daemon thread dies with us
        while self._queue and time.monotonic() < deadline:
            self._export_batch(max(0.1, deadline - time.monotonic()))
        dropped = sum(count for count, _ in self._queue)
        if dropped:
            self._queue.clear()
            self._metrics.add(SPANS_DROPPED, ("export_failed",), float(dropped))
        if time.monotonic() < deadline:
            self._export_metrics(max(0.1, deadline - time.monotonic()))
        self._traces.close()
        if self._metrics_endpoint is not None:
            self._metrics_endpoint.close()
