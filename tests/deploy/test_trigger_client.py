"""The trigger pod's client: result body always printed (Q13), retries only before sending (F-206)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tentacular.engine.trigger_client import main
from tests.processes import free_port

RESULT_OK = {"success": True, "outputs": {"a": 1}, "errors": {}}
RESULT_FAILED = {"success": False, "outputs": {}, "errors": {"a": "boom"}}


class Engine:
    """A stand-in engine recording requests and answering with a fixed status and body."""

    def __init__(self, status: int, body: dict[str, Any], port: int = 0, hang_up: bool = False) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        engine = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                engine.requests.append((self.path, self.rfile.read(length).decode(), dict(self.headers)))
                if hang_up:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/run"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Engine:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_success_prints_the_result(capsys: Any) -> None:
    with Engine(200, RESULT_OK) as engine:
        code = main(["--url", engine.url, "--body", '{"trigger":"nightly"}'])
    out, _ = capsys.readouterr()
    assert code == 0
    assert json.loads(out) == RESULT_OK
    [(path, body, headers)] = engine.requests
    assert (path, body) == ("/run", '{"trigger":"nightly"}')
    assert headers["Content-Type"] == "application/json"


def test_failed_workflow_still_prints_the_result(capsys: Any) -> None:
    with Engine(500, RESULT_FAILED) as engine:
        code = main(["--url", engine.url])
    out, err = capsys.readouterr()
    assert code == 1
    assert json.loads(out) == RESULT_FAILED
    assert "HTTP 500" in err
    assert engine.requests[0][1] == "{}"


def test_connection_refused_is_retried_until_the_engine_listens(capsys: Any) -> None:
    port = free_port()
    started: list[Engine] = []

    def start_later() -> None:
        time.sleep(0.3)
        started.append(Engine(200, RESULT_OK, port=port).__enter__())

    threading.Thread(target=start_later, daemon=True).start()
    try:
        code = main(["--url", f"http://127.0.0.1:{port}/run", "--retries", "50", "--retry-delay", "0.05"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert json.loads(out) == RESULT_OK
        assert "ConnectionRefusedError" in err
        assert len(started[0].requests) == 1
    finally:
        for server in started:
            server.__exit__()


def test_unreachable_engine_gives_up(capsys: Any) -> None:
    port = free_port()
    code = main(["--url", f"http://127.0.0.1:{port}/run", "--retries", "2", "--retry-delay", "0.01"])
    err = capsys.readouterr().err
    assert code == 3
    assert err.count("retry") == 2 and "cannot reach" in err


def test_a_sent_request_is_never_repeated(capsys: Any) -> None:
    with Engine(200, RESULT_OK, hang_up=True) as engine:
        code = main(["--url", engine.url, "--retries", "5", "--retry-delay", "0.01"])
    assert code == 3
    assert len(engine.requests) == 1


@pytest.mark.parametrize(("args", "message"), [(["--body", "{nope"], "--body must be JSON")])
def test_bad_arguments(args: list[str], message: str, capsys: Any) -> None:
    assert main(["--url", "http://127.0.0.1:1/run", *args]) == 2
    assert message in capsys.readouterr().err


def test_not_http_url(capsys: Any) -> None:
    assert main(["--url", "ftp://example/run"]) == 2


@pytest.fixture
def engine_ok() -> Iterator[Engine]:
    with Engine(200, RESULT_OK) as engine:
        yield engine


def test_runs_as_a_module_with_the_stdlib_only(engine_ok: Engine) -> None:
    code = (
        "import sys, runpy; sys.argv = ['x', '--url', sys.argv[1]];"
        "runpy.run_module('tentacular.engine.trigger_client', run_name='__main__')"
    )
    check = (
        "import sys, tentacular.engine.trigger_client;"
        "allowed = {'tentacular', 'tentacular._lazy', 'tentacular.engine',"
        " 'tentacular.engine.trigger_client'};"
        "ours = {m for m in sys.modules if m.startswith('tentacular')};"
        "assert ours <= allowed, ours;"
        "assert not {'yaml', 'pydantic', 'httpx'} & set(sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, engine_ok.url], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == RESULT_OK
    assert subprocess.run([sys.executable, "-c", check], capture_output=True, check=False).returncode == 0
