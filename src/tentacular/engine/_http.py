"""uvicorn's httptools protocol with a deadline for the request head (slowloris).

uvicorn times out idle keep-alive connections, but a client that opens a connection and
sends its request head a byte at a time (or nothing at all) holds a connection slot for
ever. Here the first request head must be complete within ``head_timeout`` seconds of
the connection opening, and every later one within ``head_timeout`` of its first byte
(idle keep-alive connections stay uvicorn's ``timeout_keep_alive``), or the connection
is closed.

It also starts a request's ASGI app *eagerly* (``_eager``) once the whole request has
arrived in one read: a ``/run`` whose nodes finish without suspending is parsed, run and
answered inside ``data_received``, with no task scheduled and no event-loop iteration of
its own. Requests whose body is still arriving, and pipelined requests queued behind a
running one, start as uvicorn starts them. The head timer of a keep-alive request is armed
only when its head did not arrive complete in the read that began it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from tentacular.engine._eager import start_eager

if TYPE_CHECKING:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_HEAD_TIMEOUT = 10.0


def head_timeout_protocol(head_timeout: float) -> type[HttpToolsProtocol]:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HeadTimeoutProtocol(HttpToolsProtocol):
        _head_timer: asyncio.TimerHandle | None = None
        _parsing = False
        _head_pending = False  # a request began and its head is not complete yet
        _deferred: tuple[Any, Any] | None = None  # (cycle, app) waiting for its body

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            self._parsing = True
            try:
                super().data_received(data)
            finally:
                self._parsing = False
            deferred = self._deferred
            if deferred is not None:  # the head is in, the body is still arriving
                self._deferred = None
                super()._start_asgi_task(*deferred)
            if self._head_pending and self._head_timer is None:
                self._arm()  # a later request on a keep-alive connection: idle time is uvicorn's

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_pending = True

        def on_headers_complete(self) -> None:
            self._head_pending = False
            self._disarm()
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            deferred = self._deferred
            if deferred is not None:
                self._deferred = None
                cycle, app = deferred
                task = start_eager(self.loop, cycle.run_asgi(app))
                if not task.done():
                    task.add_done_callback(self.tasks.discard)
                    self.tasks.add(task)  # type: ignore[arg-type]

        def _start_asgi_task(self, cycle: Any, app: Any) -> None:
            if self._parsing:
                self._deferred = (cycle, app)  # started by on_message_complete or data_received
            else:  # a pipelined request whose turn came: uvicorn's way (no nesting of requests)
                super()._start_asgi_task(cycle, app)

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(head_timeout, self._expired)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _expired(self) -> None:
            self._head_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return HeadTimeoutProtocol


__all__ = ["DEFAULT_HEAD_TIMEOUT", "head_timeout_protocol"]
