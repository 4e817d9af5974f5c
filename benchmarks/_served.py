"""Keep-alive ``POST /run`` requests fed to the engine's own HTTP protocol in process, through a stub
transport: what the callgrind drivers of ``bench_layers`` and ``_telemetry_cg`` count per request
(no socket, so only the engine's work is in the count). Import it before the guard is installed:
the guard refuses to read the benchmarks directory."""

from __future__ import annotations

import asyncio
from typing import Any

from tentacular.engine._httpd import HttpServer
from tentacular.engine._server import EngineApp

REQUEST = (
    b"POST /run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
)
WARM_UP = 20
_ADDRESSES = {"peername": ("127.0.0.1", 5555), "sockname": ("127.0.0.1", 8080)}


class StubTransport(asyncio.Transport):
    """Counts the responses written; reads nothing (requests are handed to the protocol)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.closing = False

    def write(self, data: Any) -> None:
        self.writes += 1

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return _ADDRESSES.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


async def serve_runs(engine: Any, count: int) -> int:
    """Serve ``WARM_UP + count`` requests one after another on one connection; the responses written."""
    server = HttpServer(EngineApp(engine), log=lambda level, text: None, install_signal_handlers=False)
    protocol = server.protocol(asyncio.get_running_loop())
    transport = StubTransport()
    protocol.connection_made(transport)
    for _ in range(WARM_UP + count):
        protocol.data_received(REQUEST)
        if server.tasks:
            await asyncio.gather(*list(server.tasks))
        await asyncio.sleep(0)
    await engine.services.http.aclose()
    return transport.writes
