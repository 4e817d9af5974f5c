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

from tests.processes import ServingProcess, engine_argv, http_ok, json_log_env, listening_port
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


def _two_workers(
    make_flow: WorkflowWriter, engine_process: Callable[..., EngineProcess]
) -> tuple[EngineProcess, set[int]]:
    """An engine with ``--workers 2`` and the pids of both workers, once each has answered a run."""
    node = "import os\n\nasync def run(ctx, input):\n    return os.getpid()\n"
    engine = engine_process(make_flow({"pid": node}), "--workers", "2")
    seen: set[int] = set()

    def both_answered() -> bool:
        with httpx.Client(base_url=engine.url, timeout=5) as fresh:  # a new connection each time
            seen.add(fresh.post("/run", json={}).json()["outputs"]["pid"])
        return len(seen) == 2

    assert poll(both_answered, True) is True  # SO_REUSEPORT spreads connections over both workers
    return engine, seen


def test_two_workers_share_the_port_and_stop_on_sigterm(
    make_flow: WorkflowWriter, engine_process: Callable[..., EngineProcess]
) -> None:
    engine, seen = _two_workers(make_flow, engine_process)
    assert engine.proc.pid not in seen
    engine.proc.send_signal(signal.SIGTERM)
    assert engine.proc.wait(20) == 0


def _schedstat_tasks(pid: int) -> set[str]:
    """``PID/TID`` of every ``/proc/PID/task/TID/schedstat`` the process holds open."""
    tasks = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:  # closed since the listing (a connection ending)
            continue
        if target.endswith("/schedstat"):
            parts = target.split("/")
            tasks.add(f"{parts[2]}/{parts[4]}")
    return tasks


@pytest.mark.skipif(not os.path.exists("/proc/self/schedstat"), reason="no schedstats on this kernel")
def test_each_worker_measures_its_own_threads_cpu_wait(
    make_flow: WorkflowWriter, engine_process: Callable[..., EngineProcess]
) -> None:
    """The loop watchdog discounts time a worker waited for a CPU (``schedstat``); a forked worker
    must read its own thread's, not the idle parent's, or contention reads as a blocked loop."""
    _engine, seen = _two_workers(make_flow, engine_process)
    for worker in seen:
        assert _schedstat_tasks(worker) == {f"{worker}/{worker}"}


def test_the_engine_shuts_down_cleanly_when_its_log_reader_is_gone(make_flow: WorkflowWriter) -> None:
    flow = make_flow({"echo": "async def run(ctx, input):\n    return input\n"})
    process = subprocess.Popen(
        engine_argv(flow), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=json_log_env()
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if "Listening on http://" in line:
                break
        url = f"http://127.0.0.1:{listening_port(line)}"
        assert poll(lambda: http_ok(f"{url}/health"), True) is True  # serving, signal handlers on
        process.stderr.close()  # nobody reads the engine's log from here on
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0  # drained and exited, instead of dying on a broken pipe
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit may wait for a reaper that never comes here)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_stop_when_their_parent_is_killed(
    make_flow: WorkflowWriter, engine_process: Callable[..., EngineProcess]
) -> None:
    """SIGKILL (or the OOM killer) takes the supervisor without a signal to forward: the kernel
    sends each worker SIGTERM, and they drain and exit instead of serving on, orphaned."""
    engine, seen = _two_workers(make_flow, engine_process)
    engine.proc.kill()
    engine.proc.wait(20)
    assert poll(lambda: [pid for pid in seen if _running(pid)], []) == []
