"""The engine's HTTP/1.1 server: an asyncio ``Protocol`` over ``httptools`` serving one ASGI app (issue 19).

uvicorn spent about as much per request as the whole workflow run: a task, a timer and a
request-cycle object per request, ASGI message dictionaries checked field by field, and an
event-loop iteration between the request arriving and the app starting. Here the app's
coroutine is *stepped at once* inside ``data_received`` (in a copy of the context, as a task
would run it); a ``/run`` whose nodes do not suspend is parsed, run and answered in that one
call and never becomes a task. Only a request that suspends gets a task for the rest of its
run. The server supports what the engine's clients use: keep-alive, pipelining (answered in
order; reading pauses past ``_MAX_QUEUED`` waiting requests), chunked request bodies,
``Expect: 100-continue``, HEAD, HTTP/1.0, chunked responses when the app gives no length.

Limits (sandbox, issue 11 Build 6): a request head must be complete within ``head_timeout``
of the connection opening or of its first byte (slowloris); an idle keep-alive connection is
closed after ``keep_alive`` seconds; a body is buffered to at most ``max_body + 1`` bytes, after
which the app is called at once (it answers 413) and the connection closes. One housekeeping
tick per fraction of a second enforces the deadlines for all connections, instead of a timer
handle per connection and request, and refreshes the ``date`` header.

On SIGTERM/SIGINT (``handle_exit``) the listeners close, idle connections close, requests in
flight get ``grace_period`` seconds to answer, then their tasks are cancelled (the app answers
503); a second signal skips the wait.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

import httptools

from tentacular.engine._httpd_exchange import Exchange

App = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]
Log = Callable[[str, str], None]

DEFAULT_HEAD_TIMEOUT = 10.0
DEFAULT_KEEP_ALIVE = 30.0
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MAX_QUEUED = 16  # pipelined requests waiting behind the running one before reading pauses
_BAD_REQUEST = (
    b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 29\r\nconnection: close\r\n\r\nInvalid HTTP request received."
)
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_ASGI = {"version": "3.0", "spec_version": "2.3"}


def _print_log(level: str, message: str) -> None:
    import sys

    print(f"{level}: {message}", file=sys.stderr)


def http_date(seconds: float) -> bytes:
    """The IMF-fixdate of RFC 9110 (``Sun, 06 Nov 1994 08:49:37 GMT``), as
    ``email.utils.formatdate(usegmt=True)`` writes it; the ``email`` package costs a pod's start ~3 ms."""
    t = time.gmtime(seconds)
    day, month = _DAYS[t.tm_wday], _MONTHS[t.tm_mon - 1]
    clock = f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    return f"{day}, {t.tm_mday:02d} {month} {t.tm_year:04d} {clock} GMT".encode()


class HttpServer:
    """Serves ``app`` on listening sockets until ``handle_exit`` is called (or a signal arrives)."""

    def __init__(
        self,
        app: App,
        *,
        head_timeout: float = DEFAULT_HEAD_TIMEOUT,
        keep_alive: float = DEFAULT_KEEP_ALIVE,
        grace_period: float = 25.0,
        max_body: int = 10 * 1024 * 1024,
        log: Log = _print_log,
        install_signal_handlers: bool = True,
    ) -> None:
        self.app = app
        self.head_timeout = head_timeout
        self.keep_alive = keep_alive
        self.grace_period = grace_period
        self.max_body = max_body
        self.log = log
        self.connections: set[_Connection] = set()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.install_signal_handlers = install_signal_handlers
        self.started = False
        self.should_exit = False
        self.force_exit = False
        self.date_header = b""
        self._exit: asyncio.Event | None = None
        self._tick_period = max(0.05, min(1.0, head_timeout / 4, keep_alive / 4))

    def handle_exit(self, sig: int, frame: Any) -> None:
        """Begin the graceful shutdown; a second call ends the grace period at once."""
        if self.should_exit:
            self.force_exit = True
        else:
            self.log("info", "Shutting down...")
        self.should_exit = True
        if self._exit is not None:
            self._exit.set()

    async def serve(self, sockets: list[Any]) -> None:
        loop = asyncio.get_running_loop()
        self._exit = asyncio.Event()
        if self.should_exit:
            self._exit.set()
        self._refresh_date()
        servers = [
            await loop.create_server(lambda: self.protocol(loop), sock=sock, backlog=2048) for sock in sockets
        ]
        restore = self._install_signal_handlers(loop) if self.install_signal_handlers else _nothing
        self.started = True
        tick = loop.call_later(self._tick_period, self._tick, loop)
        try:
            await self._exit.wait()
        finally:
            tick.cancel()
            try:
                await self._shutdown(loop, servers)
            finally:
                restore()

    def protocol(self, loop: asyncio.AbstractEventLoop) -> asyncio.Protocol:
        """A protocol for one client connection (what ``serve`` gives each accepted socket)."""
        self._refresh_date()
        return _Connection(self, loop)

    def _install_signal_handlers(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        installed: list[tuple[int, Any]] = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                previous = signal.getsignal(sig)
                # Looked up at signal time: triggers wrap ``handle_exit`` after the server exists.
                loop.add_signal_handler(sig, self._on_signal, sig)
            except (ValueError, RuntimeError):  # not the main thread (tests), or no signals
                continue
            installed.append((sig, previous))

        def restore() -> None:
            for sig, previous in installed:
                loop.remove_signal_handler(sig)
                signal.signal(sig, previous)

        return restore

    def _on_signal(self, sig: int) -> None:
        self.handle_exit(sig, None)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        self._refresh_date()
        for connection in list(self.connections):
            connection.check_deadlines(now)
        if not self.should_exit:
            loop.call_later(self._tick_period, self._tick, loop)

    def _refresh_date(self) -> None:
        self.date_header = b"date: " + http_date(time.time()) + b"\r\n"

    async def _shutdown(self, loop: asyncio.AbstractEventLoop, servers: list[asyncio.Server]) -> None:
        for server in servers:
            server.close()
        for connection in list(self.connections):
            connection.close_when_idle()
        deadline = loop.time() + self.grace_period
        # A bounded poll: connections, tasks and a second signal all end the wait from callbacks.
        while (self.connections or self.tasks) and not self.force_exit and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(min(0.05, max(0.0, deadline - loop.time())))
        if self.tasks:  # past the grace period: the app answers its cancellation (503) and ends
            for task in list(self.tasks):
                task.cancel()
            await asyncio.wait(list(self.tasks), timeout=1.0)
        for connection in list(self.connections):
            connection.transport.close()
        await asyncio.sleep(0)  # let the transports finish closing before the loop goes away


class _Connection(asyncio.Protocol):
    """One client connection: parses requests and runs them one at a time, in order."""

    def __init__(self, server: HttpServer, loop: asyncio.AbstractEventLoop) -> None:
        self.server = server
        self.loop = loop
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.scope_base: dict[str, Any] = {}
        self.queue: deque[Exchange] = deque()
        self.running: Exchange | None = None
        self.closed = False
        self.reading_paused = False
        self.parsing_stopped = False  # after an upgrade, an oversized body or a parse error
        self.head_deadline: float | None = None
        self.idle_deadline: float | None = None
        self.writable: asyncio.Future[None] | None = None
        self.disconnected: asyncio.Future[None] | None = None
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._body_size = 0
        self._in_data = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.connections.add(self)
        self.head_deadline = self.loop.time() + self.server.head_timeout
        self.scope_base = {
            "type": "http",
            "asgi": _ASGI,
            "scheme": "http",
            "root_path": "",
            "server": _address(transport.get_extra_info("sockname")),
            "client": _address(transport.get_extra_info("peername")),
        }

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        self.queue.clear()
        for waiter in (self.disconnected, self.writable):
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self.parsing_stopped:
            return
        self._in_data = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.parsing_stopped = True  # no upgrades: the request is answered, then the connection ends
            if self.queue:
                self.queue[-1].keep_alive = False
        except httptools.HttpParserError:
            self.parsing_stopped = True
            if self.running is None and not self.queue:
                self.transport.write(_BAD_REQUEST)
                self.transport.close()
            elif self.queue:
                self.queue[-1].keep_alive = False
            elif self.running is not None:
                self.running.keep_alive = False
        finally:
            self._in_data = False
        self.pump()

    def pause_writing(self) -> None:
        self.writable = self.loop.create_future()

    def resume_writing(self) -> None:
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)
        self.writable = None

    # httptools callbacks

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._body = []
        self._body_size = 0
        self.idle_deadline = None
        if self.head_deadline is None:
            self.head_deadline = self.loop.time() + self.server.head_timeout

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.head_deadline = None
        if self.parser.get_http_version() == "1.1" and any(
            name == b"expect" and value.lower() == b"100-continue" for name, value in self._headers
        ):
            self.transport.write(_CONTINUE)

    def on_body(self, chunk: bytes) -> None:
        room = self.server.max_body + 1 - self._body_size
        self._body.append(chunk if len(chunk) <= room else chunk[:room])
        self._body_size += len(chunk)
        if self._body_size > self.server.max_body:  # the app answers 413; the rest is never read
            self._queue_request(keep_alive=False)
            self.parsing_stopped = True
            self.transport.pause_reading()
            raise httptools.HttpParserError("request body over the limit")

    def on_message_complete(self) -> None:
        self._queue_request(keep_alive=self.parser.should_keep_alive())

    # requests

    def _queue_request(self, *, keep_alive: bool) -> None:
        parser = self.parser
        raw = self._url
        if raw[:1] == b"/" or not raw:
            raw_path, _, query = raw.partition(b"?")
            raw_path = raw_path.partition(b"#")[0]
        else:  # absolute form: http://host/path?query
            parsed = httptools.parse_url(raw)
            raw_path, query = parsed.path or b"/", parsed.query or b""
        text = raw_path.decode("latin-1")
        method = parser.get_method().decode("ascii")
        scope = {
            **self.scope_base,
            "http_version": parser.get_http_version(),
            "method": method,
            "path": unquote(text) if "%" in text else text,
            "raw_path": raw_path,
            "query_string": query,
            "headers": self._headers,
        }
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        self.queue.append(Exchange(self, scope, body, keep_alive=keep_alive, head=method == "HEAD"))
        if len(self.queue) > _MAX_QUEUED and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()

    def pump(self) -> None:
        """Start waiting requests one after another while each finishes without suspending."""
        while self.running is None and self.queue and not self.closed:
            exchange = self.queue.popleft()
            self.running = exchange
            exchange.start()
        if self.reading_paused and len(self.queue) <= _MAX_QUEUED // 2 and not self.parsing_stopped:
            self.reading_paused = False
            self.transport.resume_reading()

    def finished(self, exchange: Exchange, *, in_task: bool) -> None:
        self.running = None
        if not exchange.keep_alive or self.closed:
            self.closed = True
            self.transport.close()
            return
        if self.server.should_exit and not self.queue:
            self.transport.close()
            return
        if not self.queue:
            self.idle_deadline = self.loop.time() + self.server.keep_alive
        if in_task:  # not nested in this task's step: the next request is stepped on its own
            self.loop.call_soon(self.pump)

    def check_deadlines(self, now: float) -> None:
        head, idle = self.head_deadline, self.idle_deadline
        if (head is not None and now > head and self.running is None) or (
            idle is not None and now > idle and self.running is None and not self.queue
        ):
            self.transport.close()

    def close_when_idle(self) -> None:
        if self.running is None and not self.queue:
            self.transport.close()
        elif self.running is not None:
            self.running.keep_alive = False


def _nothing() -> None:
    pass


def _address(value: Any) -> tuple[str, int] | None:
    if isinstance(value, tuple) and len(value) >= 2:
        return (str(value[0]), int(value[1]))
    return None


__all__ = ["DEFAULT_HEAD_TIMEOUT", "DEFAULT_KEEP_ALIVE", "HttpServer"]
