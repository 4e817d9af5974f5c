"""uvicorn's httptools protocol with a deadline for the request head (slowloris).

uvicorn times out idle keep-alive connections, but a client that opens a connection and
sends its request head a byte at a time (or nothing at all) holds a connection slot for
ever. Here the first request head must be complete within ``head_timeout`` seconds of
the connection opening, and every later one within ``head_timeout`` of its first byte
(idle keep-alive connections stay uvicorn's ``timeout_keep_alive``), or the connection
is closed.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_HEAD_TIMEOUT = 10.0


def head_timeout_protocol(head_timeout: float) -> type[HttpToolsProtocol]:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HeadTimeoutProtocol(HttpToolsProtocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._head_timer is None:
                self._arm()  # a later request on a keep-alive connection: idle time is uvicorn's

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
