"""A fault-injecting HTTP proxy in front of the real API server, for the failures a real server
will not produce on demand: a 500 (or 503, 409) on one precise request.

Everything else passes through unchanged, so a fault test still runs against real state: what
was applied before the fault is really there, and the re-run really converges. This replaced the
hand-written API emulator (about 650 lines that had to imitate server-side apply, selectors and
readiness, and still authorized everything and ran no admission).
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from tests.cluster.cluster_files import write_kubeconfig
from tests.cluster.control_plane import ControlPlane

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]  # searched in the request path (no query)
    status: int
    message: str
    times: int

    def status_body(self) -> bytes:
        import json

        reason = {500: "InternalError", 503: "ServiceUnavailable", 409: "Conflict"}.get(self.status, "")
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "message": self.message,
            "reason": reason,
            "code": self.status,
        }
        return json.dumps(body).encode()


@dataclass
class FaultProxy:
    plane: ControlPlane
    faults: list[Fault] = field(default_factory=list)
    hits: list[str] = field(default_factory=list)  # "METHOD path" of every request answered by a fault

    def fail(
        self, method: str, path: str, *, status: int = 500, message: str = "injected", times: int = 1
    ) -> None:
        """The next ``times`` requests ``method`` whose path matches the regex ``path`` get ``status``."""
        self.faults.append(Fault(method.upper(), re.compile(path), status, message, times))

    def kubeconfig(self, path: Path, *, token: str | None = None) -> Path:
        """Like ControlPlane.kubeconfig, through the proxy (plain HTTP on loopback)."""
        return write_kubeconfig(
            path,
            server=self.url,
            ca_file=self.plane.ca_file,
            token=token or self.plane.admin_token,
            user="admin",
        )

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.method == method and fault.path.search(path):
                    fault.times -= 1
                    self.hits.append(f"{method} {path}")
                    return fault
        return None

    def start(self) -> FaultProxy:
        self._lock = threading.Lock()
        upstream = httpx.Client(
            base_url=self.plane.server,
            verify=ssl.create_default_context(cafile=str(self.plane.ca_file)),
            timeout=30.0,
        )
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy._take(self.command, self.path.split("?", 1)[0])
                if fault is not None:
                    self._answer(fault.status, {"Content-Type": "application/json"}, fault.status_body())
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", *_HOP_BY_HOP}}
                if "watch=true" in self.path:
                    self._stream(headers)
                    return
                response = upstream.request(self.command, self.path, content=body, headers=headers)
                kept = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP}
                self._answer(response.status_code, kept, response.content)

            def _stream(self, headers: dict[str, str]) -> None:
                """A watch: each event passed on as it arrives (chunked), until the server ends it."""
                with upstream.stream("GET", self.path, headers=headers, timeout=None) as response:
                    self.send_response(response.status_code)
                    for key, value in response.headers.items():
                        if key.lower() not in _HOP_BY_HOP:
                            self.send_header(key, value)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    try:
                        for chunk in response.iter_raw():
                            if not chunk:
                                continue
                            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                            self.wfile.flush()
                        self.wfile.write(b"0\r\n\r\n")
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the client had seen enough and closed the watch

            def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        self._upstream = upstream
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._upstream.close()

    _server: ThreadingHTTPServer | None = None
