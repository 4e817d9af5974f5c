"""`tntc dev` with TypeScript nodes: the mixed workflow served, .ts edits hot-reloaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.typescript.conftest import FlowWriter, local_contract
from tests.typescript.test_engine_runs import MIXED, MIXED_EDGES

WAIT = 30.0


class DevServer:
    def __init__(self, workflow: Path) -> None:
        tntc = Path(sys.executable).parent / "tntc"
        env = {**os.environ, "TENTACULAR_LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [str(tntc), "dev", str(workflow), "-p", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        line = self.wait_for(lambda text: "Listening on http://" in text)
        self.url = "http://127.0.0.1:" + line.rsplit(":", 1)[1].split('"')[0].strip()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, predicate: Callable[[str], bool], start: int = 0) -> str:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for line in self.lines[start:]:
                if predicate(line):
                    return line
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("tntc dev never logged the expected line:\n" + "\n".join(self.lines))

    def run(self, payload: object) -> dict[str, object]:
        return httpx.post(self.url + "/run", json=payload, timeout=30).json()  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def dev_server() -> Iterator[Callable[[Path], DevServer]]:
    started: list[DevServer] = []

    def start(workflow: Path) -> DevServer:
        server = DevServer(workflow)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def poll(fn: Callable[[], object], expect: object) -> object:
    deadline = time.monotonic() + WAIT
    value = fn()
    while value != expect and time.monotonic() < deadline:
        time.sleep(0.1)
        value = fn()
    return value


def test_dev_serves_the_mixed_workflow_and_reloads_typescript_edits(
    make_flow: FlowWriter, http_server: ThreadingHTTPServer, dev_server: Callable[[Path], DevServer]
) -> None:
    port = http_server.server_address[1]
    flow = make_flow(MIXED, MIXED_EDGES, config={"greeting": "hi"}, contract=local_contract(port))
    (flow / ".secrets.yaml").write_text("local:\n  token: dev-token-123\n")
    server = dev_server(flow)
    result = server.run({"n": 5})
    assert result["success"], result
    outputs = result["outputs"]
    assert outputs["join"] == {"sum": 16, "order": ["left", "right"]}  # type: ignore[index]
    assert outputs["left"]["echo"]["path"] == "/echo?x=1"  # type: ignore[index]
    assert http_server.requests[-1]["auth"] == "Bearer dev-token-123"  # type: ignore[attr-defined]
    assert "dev-token-123" not in "\n".join(server.lines)  # the log line is redacted

    right = flow / "nodes" / "right.ts"
    right.write_text("export default (ctx, input) => ({ right: input.n + 100 });\n")

    def right_output() -> object:
        return server.run({"n": 1})["outputs"].get("right")  # type: ignore[union-attr]

    assert poll(right_output, {"right": 101}) == {"right": 101}

    mark = len(server.lines)
    right.write_text("export default (ctx, input) => ({ right: \n")
    failure = server.wait_for(lambda line: "Reload failed" in line, start=mark)
    assert "syntax error at nodes/right.ts:" in json.loads(failure)["msg"]
    assert right_output() == {"right": 101}  # the previous version keeps serving


def test_run_local_runs_the_mixed_workflow_under_the_guard(
    make_flow: FlowWriter, http_server: ThreadingHTTPServer
) -> None:
    port = http_server.server_address[1]
    flow = make_flow(MIXED, MIXED_EDGES, config={"greeting": "hi"}, contract=local_contract(port))
    (flow / ".secrets.yaml").write_text("local:\n  token: local-token-456\n")
    tntc = Path(sys.executable).parent / "tntc"
    completed = subprocess.run(
        [str(tntc), "run", "--local", str(flow), "-o", "json", "--input", '{"n": 4}'],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    envelope = json.loads(completed.stdout)
    outputs = envelope["execution"]["outputs"]
    assert outputs["join"] == {"sum": 13, "order": ["left", "right"]}
    assert outputs["left"]["greeting"] == "hi" and outputs["left"]["status"] == 200
    assert http_server.requests[-1]["auth"] == "Bearer local-token-456"  # type: ignore[attr-defined]
    assert "local-token-456" not in completed.stdout + completed.stderr
    assert "runtime permission guard installed" in completed.stderr


def test_dev_picks_up_the_first_typescript_node_added_while_serving(
    make_flow: FlowWriter, dev_server: Callable[[Path], DevServer]
) -> None:
    flow = make_flow(
        {"a.py": "async def run(ctx, input):\n    return 1\n"}, contract={"version": "1", "dependencies": {}}
    )
    server = dev_server(flow)
    assert server.run({})["outputs"] == {"a": 1}
    (flow / "nodes" / "b.ts").write_text("export default () => 2;\n")
    spec = (
        (flow / "workflow.yaml").read_text().replace("nodes:\n", "nodes:\n  b:\n    path: ./nodes/b.ts\n", 1)
    )
    (flow / "workflow.yaml").write_text(spec)

    def outputs() -> object:
        return server.run({})["outputs"]

    assert poll(outputs, {"a": 1, "b": 2}) == {"a": 1, "b": 2}
