"""The Python floor: a bare ASGI app on the engine's server stack doing three trivial async steps.

It is what the engine's ``trivial3`` /run costs with no engine at all: the engine's own
httptools server (``engine/_httpd.py``), no access log, a JSON body in and out, three awaited
``add one`` steps. Run as ``python -m benchmarks._floor PORT``; ``--uvicorn`` serves the same
app with uvicorn + httptools instead (the stack the engine used before issue 19), for comparison.
"""

from __future__ import annotations

import json
import sys
from typing import Any

CONTENT_TYPE = (b"content-type", b"application/json")


async def _step(value: int) -> int:
    return value + 1


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["path"] == "/health":
        payload = b'{"status":"ok"}'
    else:
        value = int((json.loads(body) if body else {}).get("value", 0))
        for _ in range(3):
            value = await _step(value)
        payload = json.dumps({"success": True, "outputs": {"c": {"value": value}}}).encode()
    headers = [CONTENT_TYPE, (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def main(port: int, *, with_uvicorn: bool = False) -> None:
    if not with_uvicorn:
        import asyncio
        import socket

        from tentacular.engine._httpd import HttpServer

        listener = socket.create_server(("127.0.0.1", port), reuse_port=True)
        asyncio.run(HttpServer(app, log=lambda _level, _text: None).serve([listener]))
        return
    import uvicorn

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        http="httptools",
        lifespan="off",
        ws="none",
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), with_uvicorn="--uvicorn" in sys.argv[2:])
