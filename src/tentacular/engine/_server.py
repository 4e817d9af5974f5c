"""The engine's HTTP API (F-077…F-083) as a plain ASGI app, served by the engine's own protocol (_httpd.py).

A hand-written ASGI callable instead of Starlette routing: with three routes the
router, request and response objects were measurable per-request overhead and
bought nothing (see docs/engine.md, "Performance").
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from tentacular.engine._core import WorkflowEngine, new_run_id
from tentacular.engine._telemetry import carrier_from_headers, trigger_from_headers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DEFAULT_MAX_BODY = 10 * 1024 * 1024
_JSON_HEADERS = [(b"content-type", b"application/json")]
_HEALTH_OK = b'{"status":"ok"}'
_RECENT_EVENTS = 1000


class Telemetry:
    """The in-memory sink behind ``/health?detail=1`` (F-083): a ring buffer of run events."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.started = clock()
        self.events: deque[dict[str, Any]] = deque(maxlen=_RECENT_EVENTS)
        self.total = 0
        self.errors = 0
        self.in_flight = 0
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.last_run_failed = False

    def record(self, run_id: str, success: bool, duration: float, error: str | None) -> None:
        now = self._clock()
        self.total += 1
        self.last_run_failed = not success
        if not success:
            self.errors += 1
            self.last_error = error
            self.last_error_at = now
        self.events.append(
            {"run": run_id, "at": round(now * 1000), "success": success, "durationMs": round(duration * 1000)}
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "totalEvents": self.total,
            "errorCount": self.errors,
            "errorRate": (self.errors / self.total) if self.total else 0.0,
            "uptimeMs": round((self._clock() - self.started) * 1000),
            "lastError": self.last_error,
            "lastErrorAt": round(self.last_error_at * 1000) if self.last_error_at is not None else None,
            "lastRunFailed": self.last_run_failed,
            "inFlight": self.in_flight,
            "recentEvents": list(self.events)[-50:],
        }


class EngineApp:
    """ASGI app: ``/run`` (GET, POST), ``/health`` (GET, HEAD), 404 elsewhere."""

    def __init__(self, engine: WorkflowEngine, *, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.engine = engine
        self.max_body = max_body
        self.telemetry = Telemetry()
        self.triggers: Any = None  # a TriggerHost when the workflow has queue or webhook triggers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            method = scope["method"]
            if path == "/run":
                if method == "POST":
                    await self._run(scope, receive, send, reads_body=True)
                elif method == "GET":
                    await self._run(scope, receive, send, reads_body=False)
                else:
                    await _respond(send, 405, b"Method Not Allowed", text=True, allow=b"GET, POST")
            elif path == "/health":
                if method in ("GET", "HEAD"):
                    if b"detail=" in scope.get("query_string", b""):
                        usage = self.engine.services.telemetry.metrics.usage_summary()
                        detail = {**self.telemetry.snapshot(), "layers": _layers(), "usage": usage}
                        if self.triggers is not None:
                            detail.update(self.triggers.snapshot())
                        body = json.dumps(detail).encode()
                        await _respond(send, 200, body)
                    else:
                        await _respond(send, 200, _HEALTH_OK)
                else:
                    await _respond(send, 405, b"Method Not Allowed", text=True, allow=b"GET, HEAD")
            elif path == "/metrics" and method in ("GET", "HEAD"):
                body, content_type = self.engine.services.telemetry.metrics.render()
                await _respond(send, 200, body, content_type=content_type.encode())
            elif path.startswith("/webhook/") and self.triggers is not None:
                await self.triggers.serve_webhook(self, scope, receive, send)
            else:
                await _respond(send, 404, b"Not Found", text=True)
        elif kind == "lifespan":
            await _lifespan(receive, send)

    async def _run(self, scope: Scope, receive: Receive, send: Send, *, reads_body: bool) -> None:
        payload: Any = {}
        headers = scope["headers"]
        declared, traced = _scan_headers(headers)
        if reads_body:
            body = await self._read_body_declared(receive, declared)
            if body is None:
                await _respond(
                    send, 413, json.dumps({"error": f"request body exceeds {self.max_body} bytes"}).encode()
                )
                return
            try:
                payload = _parse_payload(body)
            except RecursionError:  # sandbox: a 100,000-deep body must not become a 500 (Build 6)
                refusal = {"error": "request body nests too deeply to parse as JSON"}
                await _respond(send, 400, json.dumps(refusal).encode())
                return
            except ValueError as exc:  # ux-edges (issue 10): never run the workflow on a garbled body
                await _respond(send, 400, json.dumps({"error": str(exc)}).encode())
                return
        telemetry = self.telemetry
        telemetry.in_flight += 1
        started = time.perf_counter()
        run_id = new_run_id()
        try:
            result = await self.engine.run(
                payload,
                run_id=run_id,
                trigger=trigger_from_headers(headers) if traced else "manual",
                carrier=carrier_from_headers(headers) if traced else None,
            )
        except asyncio.CancelledError:  # shutdown after the grace period: still a JSON answer
            telemetry.record(run_id, False, time.perf_counter() - started, "cancelled at shutdown")
            late = {"error": "the engine shut down before the run finished (grace period over)"}
            await _respond(send, 503, json.dumps(late).encode())
            raise
        except Exception as exc:  # an engine bug, not a node failure: still answer (F-080)
            message = self.engine.services.redactor.text(f"{type(exc).__name__}: {exc}")
            telemetry.record(run_id, False, time.perf_counter() - started, message)
            await _respond(send, 500, json.dumps({"error": message}).encode())
            return
        finally:
            telemetry.in_flight -= 1
        data = result.to_dict()
        error = next(iter(data["errors"].values()), None)
        telemetry.record(run_id, result.success, result.duration, error)
        await _respond(send, 200 if result.success else 500, encode_result(data))

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The request body, or None when it exceeds ``max_body`` (checked before reading when declared)."""
        return await self._read_body_declared(receive, _scan_headers(scope["headers"])[0])

    async def _read_body_declared(self, receive: Receive, declared: bytes | None) -> bytes | None:
        limit = self.max_body
        if declared is not None:
            try:
                if int(declared) > limit:
                    return None
            except ValueError:
                pass
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b""  # client went away; the run proceeds with {} and the answer is dropped
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    read_body = _read_body


def _layers() -> dict[str, str]:
    from tentacular.engine._guard import layers_report  # sandbox: guard and kernel layer status

    return layers_report()


_TRACE_AND_TRIGGER = frozenset({b"traceparent", b"tracestate", b"x-tentacular-trigger"})


def _scan_headers(headers: list[tuple[bytes, bytes]]) -> tuple[bytes | None, bool]:
    """One pass over the (lower-cased) request headers: the declared Content-Length, and whether
    any trace or trigger header is present (most requests carry neither)."""
    declared: bytes | None = None
    traced = False
    for name, value in headers:
        if name == b"content-length":
            if declared is None:
                declared = value
        elif name in _TRACE_AND_TRIGGER:
            traced = True
    return declared, traced


def encode_result(data: dict[str, Any]) -> bytes:
    """The /run answer: orjson (UTF-8, compact), json's output for what orjson refuses (ints past 64 bits)."""
    try:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _parse_payload(body: bytes) -> Any:
    """Root input (F-079): the JSON body; ``{}`` for an empty body or JSON null.

    A body that is not JSON raises ValueError (answered 400) instead of running with ``{}``.
    """
    if not body.strip():
        return {}
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        # json decides what orjson refuses (NaN, big ints, deep nesting → RecursionError) and
        # words the error, as before.
        try:
            value = json.loads(body)
        except UnicodeDecodeError:
            raise ValueError("request body is not valid JSON: it is not UTF-8 text") from None
        except ValueError as exc:
            raise ValueError(f"request body is not valid JSON: {exc}") from None
    return {} if value is None else value


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    *,
    text: bool = False,
    allow: bytes | None = None,
    content_type: bytes | None = None,
) -> None:
    if content_type is not None:
        headers = [(b"content-type", content_type)]
    else:
        headers = [(b"content-type", b"text/plain; charset=utf-8")] if text else list(_JSON_HEADERS)
    headers.append((b"content-length", str(len(body)).encode()))
    if allow is not None:
        headers.append((b"allow", allow))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


respond = _respond


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
