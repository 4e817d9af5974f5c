"""`tntc dev` with TypeScript nodes: the mixed workflow served, .ts edits hot-reloaded."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.processes import TNTC, ServingProcess, json_log_env
from tests.processes import poll as poll_for
from tests.typescript.conftest import FlowWriter, local_contract
from tests.typescript.test_engine_runs import MIXED, MIXED_EDGES

WAIT = 30.0


class DevServer(ServingProcess):
    """`tntc dev WORKFLOW -p 0` with JSON logs."""

    def __init__(self, workflow: Path) -> None:
        super().__init__(
            [TNTC, "dev", str(workflow), "-p", "0"], env=json_log_env(), wait=WAIT, name="tntc dev"
        )

    def wait_for(self, predicate: Callable[[str], bool], start: int = 0) -> str:
        return self.wait_for_line(predicate, start)

    def run(self, payload: object) -> dict[str, object]:
        return httpx.post(self.url + "/run", json=payload, timeout=30).json()  # type: ignore[no-any-return]

    def stop(self) -> None:
        super().stop(timeout=15)


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
    return poll_for(fn, expect, timeout=WAIT, interval=0.1)


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
