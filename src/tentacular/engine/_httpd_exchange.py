"""One request and its response on a connection of the engine's HTTP server (``_httpd.py``).

The app's coroutine is stepped at once in a copy of the context (as a task would run it);
only if it suspends does it become a task, so a ``/run`` whose nodes never wait is parsed,
run and answered inside one ``data_received`` call.
"""

from __future__ import annotations

import asyncio
import contextvars
import traceback
from collections.abc import MutableMapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from tentacular.engine._eager import resume

if TYPE_CHECKING:
    from tentacular.engine._httpd import _Connection

Message = MutableMapping[str, Any]

_STATUS_LINES = {
    status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode() for status in HTTPStatus
}
_DISCONNECT: Message = {"type": "http.disconnect"}


class Exchange:
    """One request and its response: the ASGI ``receive`` and ``send`` of one app call."""

    __slots__ = (
        "body",
        "chunked",
        "connection",
        "finished",
        "head",
        "keep_alive",
        "pending",
        "scope",
        "started",
    )

    def __init__(
        self, connection: _Connection, scope: dict[str, Any], body: bytes, *, keep_alive: bool, head: bool
    ) -> None:
        self.connection = connection
        self.scope = scope
        self.body: bytes | None = body
        self.keep_alive = keep_alive
        self.head = head
        self.pending: bytes | None = None  # the response head, written with the first body part
        self.chunked = False
        self.started = False
        self.finished = False

    def start(self) -> None:
        coro = self._serve()
        context = contextvars.copy_context()
        try:
            waiting = context.run(coro.send, None)
        except StopIteration:
            return
        task = asyncio.Task(resume(coro, waiting), context=context)
        tasks = self.connection.server.tasks
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _serve(self) -> None:
        connection = self.connection
        try:
            await connection.server.app(self.scope, self.receive, self.send)
        except Exception:
            connection.server.log("error", "Exception in ASGI application\n" + traceback.format_exc())
            if not self.started:
                await self._plain(500, b"Internal Server Error")
            self.keep_alive = self.keep_alive and self.finished
        finally:
            if not self.finished:  # the app returned (or was cancelled) without finishing its answer
                self.keep_alive = False
            connection.finished(self, in_task=asyncio.current_task() is not None)

    async def receive(self) -> Message:
        body = self.body
        if body is not None:
            self.body = None
            return {"type": "http.request", "body": body, "more_body": False}
        connection = self.connection
        if not connection.closed and not self.finished:
            if connection.disconnected is None or connection.disconnected.done():
                connection.disconnected = connection.loop.create_future()
            await connection.disconnected
        return _DISCONNECT

    async def send(self, message: Message) -> None:
        connection = self.connection
        if connection.writable is not None:
            await connection.writable
        kind = message["type"]
        if kind == "http.response.start":
            if self.started:
                raise RuntimeError("the response has already started")
            self.pending = self._response_head(message["status"], message.get("headers", ()))
            self.started = True  # only once the head is valid, so a refused head still gets a 500
        elif kind == "http.response.body":
            pending = self.pending
            if not self.started or self.finished:
                raise RuntimeError("response body sent before its start, or after its end")
            body: bytes = message.get("body", b"")
            more = message.get("more_body", False)
            if self.head:
                body = b""
            elif self.chunked:
                body = (b"%x\r\n%b\r\n" % (len(body), body) if body else b"") + (
                    b"" if more else b"0\r\n\r\n"
                )
            if not connection.closed:
                connection.transport.write(pending + body if pending is not None else body)
            self.pending = None
            if not more:
                self.finished = True
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r}")

    def _response_head(self, status: int, headers: Any) -> bytes:
        line = _STATUS_LINES.get(status) or b"HTTP/1.1 %d \r\n" % status
        parts = [line, self.connection.server.date_header]
        has_length = False
        for name, value in headers:
            if b"\n" in value or b"\r" in value or b"\n" in name or b"\r" in name:
                raise RuntimeError("a response header contains a line break")
            lowered = name.lower()
            if lowered == b"content-length":
                has_length = True
            elif lowered == b"connection" and value.lower() == b"close":
                self.keep_alive = False
            parts.append(b"%b: %b\r\n" % (name, value))
        if not has_length and not self.head and status >= 200 and status not in (204, 304):
            if self.scope["http_version"] == "1.1":
                self.chunked = True
                parts.append(b"transfer-encoding: chunked\r\n")
            else:
                self.keep_alive = False  # an HTTP/1.0 body without a length ends with the connection
        if not self.keep_alive:
            parts.append(b"connection: close\r\n")
        elif self.scope["http_version"] == "1.0":
            parts.append(b"connection: keep-alive\r\n")
        parts.append(b"\r\n")
        return b"".join(parts)

    async def _plain(self, status: int, text: bytes) -> None:
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"%d" % len(text))]
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": text})
