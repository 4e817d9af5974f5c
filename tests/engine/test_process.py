"""The engine as a process: start-up failure, SIGTERM draining, hot reload (F-065, F-091…F-095)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.processes import ServingProcess, engine_argv, json_log_env
from tests.processes import poll as poll_for

from .conftest import WorkflowWriter

WAIT = 15.0  # upper bound for polling loops; they finish as soon as the condition holds


class EngineProcess(ServingProcess):
    """`python -m tentacular.engine` on port 0 with JSON logs; ``wait_for`` scans the raw lines."""

    def __init__(self, workflow: Path, *extra: str) -> None:
        super().__init__(engine_argv(workflow, *extra), env=json_log_env(), wait=WAIT, name="engine")

    def wait_for(self, predicate: Callable[[str], bool], start: int = 0) -> str:
        return self.wait_for_line(predicate, start)


@pytest.fixture
def engine_process() -> Iterator[Callable[..., EngineProcess]]:
    started: list[EngineProcess] = []

    def start(workflow: Path, *extra: str) -> EngineProcess:
        process = EngineProcess(workflow, *extra)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def poll(fn: Callable[[], object], expect: object) -> object:
    return poll_for(fn, expect, timeout=WAIT)


def test_startup_failure_exits_1_with_message(make_flow: WorkflowWriter) -> None:
    flow = make_flow({"x": "run = 3\n"})
    done = subprocess.run(
        [sys.executable, "-m", "tentacular.engine", "--workflow", str(flow), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "TENTACULAR_LOG_FORMAT": "text"},
    )
    assert done.returncode == 1
    assert 'Engine failed to start: node "x": run in nodes/x.py is a int, not a function' in done.stderr
    assert "Traceback" not in done.stderr


def test_sigterm_lets_the_running_request_finish_then_exits_0(
    make_flow: WorkflowWriter, engine_process: Callable[..., EngineProcess]
) -> None:
    slow = "import asyncio\n\nasync def run(ctx, input):\n    await asyncio.sleep(2)\n    return 'done'\n"
    engine = engine_process(make_flow({"slow": slow}), "--grace-period", "10")
    result: dict[str, httpx.Response] = {}
    request = threading.Thread(
        target=lambda: result.update(r=httpx.post(engine.url + "/run", json={}, timeout=20))
    )
    request.start()
    in_flight = poll(lambda: httpx.get(engine.url + "/health?detail=1").json()["inFlight"], 1)
    assert in_flight == 1
    engine.proc.send_signal(signal.SIGTERM)
    request.join(20)
    assert result["r"].status_code == 200 and result["r"].json()["outputs"] == {"slow": "done"}
    assert engine.proc.wait(20) == 0
    assert "Shutting down..." in engine.messages()


def test_hot_reload_edit_break_and_add_node(
    make_flow: WorkflowWriter, engine_process: Callable[..., EngineProcess]
) -> None:
    flow = make_flow({"first": "async def run(ctx, input):\n    return 1\n"})
    engine = engine_process(flow, "--watch")
    engine.wait_for(lambda line: "Watching" in line)

    def outputs() -> object:
        return httpx.post(engine.url + "/run", json={}).json()["outputs"]

    assert outputs() == {"first": 1}
    (flow / "nodes" / "first.py").write_text("async def run(ctx, input):\n    return 2\n")
    assert poll(outputs, {"first": 2}) == {"first": 2}

    mark = len(engine.lines)
    (flow / "nodes" / "first.py").write_text("async def run(ctx, input):\n    return (\n")
    failure = engine.wait_for(lambda line: "Reload failed" in line, start=mark)
    assert "syntax error at nodes/first.py:2" in failure
    assert outputs() == {"first": 2}  # the previous version keeps serving

    (flow / "nodes" / "first.py").write_text("async def run(ctx, input):\n    return 3\n")
    (flow / "nodes" / "second.py").write_text("async def run(ctx, input):\n    return input + 10\n")
    text = (flow / "workflow.yaml").read_text()
    text = text.replace("nodes:\n", "nodes:\n  second:\n    path: ./nodes/second.py\n", 1)
    text = text.replace("edges: []", "edges:\n- from: first\n  to: second")
    (flow / "workflow.yaml").write_text(text)
    expected = {"first": 3, "second": 13}
    assert poll(outputs, expected) == expected


def test_the_engine_process_refuses_a_body_that_is_not_json(
    make_flow: WorkflowWriter, engine_process: Callable[..., EngineProcess]
) -> None:
    """Issue 10 Build 6, through ``python -m tentacular.engine`` (whatever serves the request):
    ``POST /run`` with a garbled body is a 400 JSON error and runs nothing; an empty body is ``{}``."""
    node = "async def run(ctx, input):\n    ctx.log.info('RAN ' + repr(input))\n    return input\n"
    engine = engine_process(make_flow({"echo": node}))
    refused = httpx.post(f"{engine.url}/run", content=b'{"text": "hi"', timeout=WAIT)
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/json"
    assert refused.json()["error"].startswith("request body is not valid JSON: ")
    empty = httpx.post(f"{engine.url}/run", content=b"", timeout=WAIT)
    assert empty.status_code == 200 and empty.json()["outputs"] == {"echo": {}}
    engine.wait_for(lambda line: "RAN {}" in line)
    assert [m for m in engine.messages() if m.startswith("RAN")] == ["RAN {}"]  # the 400 ran nothing


def test_two_workers_share_the_port_and_stop_on_sigterm(
    make_flow: WorkflowWriter, engine_process: Callable[..., EngineProcess]
) -> None:
    node = "import os\n\nasync def run(ctx, input):\n    return os.getpid()\n"
    engine = engine_process(make_flow({"pid": node}), "--workers", "2")
    seen: set[int] = set()

    def both_answered() -> bool:
        with httpx.Client(base_url=engine.url, timeout=5) as fresh:  # a new connection each time
            seen.add(fresh.post("/run", json={}).json()["outputs"]["pid"])
        return len(seen) == 2

    assert poll(both_answered, True) is True  # SO_REUSEPORT spreads connections over both workers
    assert engine.proc.pid not in seen
    engine.proc.send_signal(signal.SIGTERM)
    assert engine.proc.wait(20) == 0
