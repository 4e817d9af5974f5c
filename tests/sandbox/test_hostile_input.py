"""Hostile input (Build 6): expansion bombs, huge and deep documents, oversized workflows are
refused by `tntc validate` with exit 2 and a located error; the engine answers a 100,000-deep
JSON body with a 400, closes slowloris connections, and gives runs cut by shutdown a JSON answer.
Time and memory of each refusal are measured in `make bench` (benchmarks/bench_hostile.py)."""

from __future__ import annotations

import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.guard.support import EngineProcess, base_env, tntc, write_workflow
from tests.sandbox.hostile_inputs import HOSTILE_WORKFLOWS

LOCATED = re.compile(r"workflow\.yaml:\d+:\d+: ")


@pytest.mark.parametrize("case", sorted(HOSTILE_WORKFLOWS))
def test_validate_refuses_hostile_documents_with_a_located_error(tmp_path: Path, case: str) -> None:
    build: Callable[[Path], str] = HOSTILE_WORKFLOWS[case][0]
    expected = HOSTILE_WORKFLOWS[case][1]
    directory = tmp_path / case
    (directory / "nodes").mkdir(parents=True)
    (directory / "nodes" / "a.py").write_text("async def run(ctx, input):\n    return 1\n")
    (directory / "workflow.yaml").write_text(build(directory))
    done = tntc("validate", str(directory), env=base_env())
    assert done.returncode == 2, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    assert LOCATED.search(output), output
    assert expected in output, output


SLOW = """
import asyncio


async def run(ctx, input):
    await asyncio.sleep(input.get("sleep", 0))
    return {"ok": True}
"""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineProcess]:
    workflow = write_workflow(tmp_path / "hostile-http", {"slow": SLOW}, contract={"version": "1"})
    spec = (workflow / "workflow.yaml").read_text().replace("timeout: 10s", "timeout: 60s")
    (workflow / "workflow.yaml").write_text(spec)
    process = EngineProcess(workflow, env=base_env(), extra_args=("--head-timeout", "0.5"))
    try:
        yield process
    finally:
        process.stop()


def test_a_100000_deep_json_body_gets_a_400_json_error(engine: EngineProcess) -> None:
    body = "[" * 100_000 + "]" * 100_000
    response = engine.client.post("/run", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "request body nests too deeply to parse as JSON"}
    assert engine.client.get("/health").status_code == 200


def _closed_by_server(sock: socket.socket, deadline: float) -> bool:
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            if sock.recv(1024) == b"":
                return True
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True
    return False


def test_slowloris_connections_are_closed_and_others_still_served(engine: EngineProcess) -> None:
    silent = socket.create_connection(("127.0.0.1", engine.port))
    dribbling = socket.create_connection(("127.0.0.1", engine.port))
    dribbling.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never finishes the head
    try:
        assert engine.client.get("/health").status_code == 200
        deadline = time.monotonic() + 15
        assert _closed_by_server(silent, deadline)
        assert _closed_by_server(dribbling, deadline)
        assert engine.client.get("/health").status_code == 200
    finally:
        silent.close()
        dribbling.close()


def test_a_keep_alive_connection_still_serves_several_requests(engine: EngineProcess) -> None:
    with httpx.Client(base_url=engine.url, trust_env=False) as client:
        for _ in range(3):
            assert client.get("/health").status_code == 200
            time.sleep(0.7)  # idle longer than the head timeout: idle is keep-alive's business


def test_runs_cut_by_the_grace_period_get_a_json_answer(engine: EngineProcess) -> None:
    answers: list[httpx.Response] = []
    caller = threading.Thread(target=lambda: answers.append(engine.client.post("/run", json={"sleep": 30})))
    caller.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if engine.client.get("/health", params={"detail": "1"}).json()["inFlight"] == 1:
            break
        time.sleep(0.05)
    engine.process.send_signal(signal.SIGTERM)
    caller.join(timeout=20)
    assert answers, "no answer"
    assert answers[0].status_code == 503
    assert answers[0].headers["content-type"] == "application/json"
    assert "grace period" in answers[0].json()["error"]
    assert engine.process.wait(timeout=20) == 0
