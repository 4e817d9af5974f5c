"""Traces and metrics over real OTLP/HTTP (issue 17): the engine as a process, under its runtime guard,
exporting to a collector the test runs on loopback; the protobuf is decoded with opentelemetry-proto."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import WorkflowWriter
from .telemetry_helpers import LocalService, OtlpReceiver, add_telemetry
from .test_process import EngineProcess

WAIT = 20.0
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"

ASK = """
async def run(ctx, input):
    response = await ctx.dependency("llm").fetch("/v1/messages", method="POST", json={"model": "x"})
    return {"model": response.json()["model"]}
"""
BOOM = "async def run(ctx, input):\n    raise ValueError('broken on purpose')\n"


@pytest.fixture
def processes() -> Iterator[Callable[..., EngineProcess]]:
    started: list[EngineProcess] = []

    def start(workflow: Path, *extra: str) -> EngineProcess:
        process = EngineProcess(workflow, *extra)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def wait_until(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_spans_reach_a_real_collector_with_propagation(
    make_flow: WorkflowWriter, processes: Callable[..., EngineProcess]
) -> None:
    with OtlpReceiver() as collector, LocalService() as llm:
        contract = {
            "version": "1",
            "dependencies": {"llm": {"protocol": "http", "host": "127.0.0.1", "port": llm.port}},
        }
        flow = make_flow(
            {"ask": ASK, "after": "async def run(ctx, input):\n    return input\n"},
            [("ask", "after")],
            contract=contract,
        )
        add_telemetry(
            flow,
            {
                "exporter": "otlp",
                "endpoint": collector.url,
                "resourceAttributes": {"deployment.environment": "test"},
            },
        )
        engine = processes(flow)  # the runtime guard is on: the collector is reachable only through its grant
        response = httpx.post(
            f"{engine.url}/run",
            json={},
            headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert response.json()["usage"]["total"]["inputTokens"] == 15
        engine.stop()  # SIGTERM flushes the queue
        assert engine.proc.returncode == 0, "\n".join(engine.lines)
        wait_until(lambda: len(collector.spans()) >= 4)
        spans = collector.spans()
    names = sorted(span["name"] for span in spans)
    assert names == ["POST", "execute_node", "execute_node", "invoke_workflow"], names
    run = next(s for s in spans if s["name"] == "invoke_workflow")
    assert run["trace_id"] == CALLER_TRACE and run["parent_id"] == CALLER_SPAN
    assert run["attributes"]["tentacular.workflow.name"] == "test-flow"
    assert run["attributes"]["gen_ai.usage.input_tokens"] == 15
    assert run["resource"]["service.name"] == "test-flow"
    assert run["resource"]["service.version"] == "1.0"
    assert run["resource"]["deployment.environment"] == "test"
    nodes = {s["attributes"]["tentacular.node.name"]: s for s in spans if s["name"] == "execute_node"}
    assert all(n["parent_id"] == run["span_id"] and n["trace_id"] == CALLER_TRACE for n in nodes.values())
    client = next(s for s in spans if s["name"] == "POST")
    assert client["parent_id"] == nodes["ask"]["span_id"]
    assert client["attributes"]["gen_ai.response.model"] == "claude-sonnet-4-5-20250929"
    assert client["attributes"]["gen_ai.provider.name"] == "anthropic"
    assert client["attributes"]["gen_ai.usage.output_tokens"] == 6
    [request] = llm.requests
    assert request["headers"]["traceparent"] == f"00-{CALLER_TRACE}-{client['span_id']}-01"
    # Engine log lines are JSON with the workflow name; no exporter noise in the log.
    records = [json.loads(line) for line in engine.lines if line.startswith("{")]
    assert records and all(r["workflow"] == "test-flow" for r in records)
    assert not any("Failed to export" in line for line in engine.lines)


def test_errors_are_exported_with_status_and_exception(
    make_flow: WorkflowWriter, processes: Callable[..., EngineProcess]
) -> None:
    with OtlpReceiver() as collector:
        flow = add_telemetry(
            make_flow({"boom": BOOM}, contract={"version": "1", "dependencies": {}}),
            {"exporter": "otlp", "endpoint": collector.url},
        )
        engine = processes(flow)
        assert httpx.post(f"{engine.url}/run", json={}, timeout=10).status_code == 500
        engine.stop()
        wait_until(lambda: len(collector.spans()) >= 2)
        spans = {s["name"]: s for s in collector.spans()}
        wait_until(lambda: bool(collector.metric_requests))
        metric_names = {
            metric.name
            for request in collector.metric_requests
            for resource in request.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
        }
    assert spans["invoke_workflow"]["status"] == 2  # STATUS_CODE_ERROR
    assert spans["execute_node"]["status"] == 2 and "exception" in spans["execute_node"]["events"]
    assert spans["execute_node"]["attributes"]["tentacular.node.outcome"] == "error"
    # Metrics travel over OTLP too.
    assert {"tentacular_runs", "tentacular_node_duration_seconds"} <= metric_names


def test_an_unreachable_collector_never_fails_or_stalls_runs(
    make_flow: WorkflowWriter, processes: Callable[..., EngineProcess]
) -> None:
    import socket

    with socket.socket() as placeholder:  # a port nobody listens on
        placeholder.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{placeholder.getsockname()[1]}"
    flow = add_telemetry(
        make_flow(
            {"echo": "async def run(ctx, input):\n    return input\n"},
            contract={"version": "1", "dependencies": {}},
        ),
        {"exporter": "otlp", "endpoint": dead},
    )
    engine = processes(flow)
    with httpx.Client(base_url=engine.url, timeout=10) as client:
        for index in range(30):
            response = client.post("/run", json={"i": index})
            assert response.status_code == 200 and response.json()["success"] is True
        # The batch goes out after ~1 s, fails, and is counted as dropped.
        deadline = time.monotonic() + WAIT
        dropped = 0.0
        while time.monotonic() < deadline and dropped < 60:
            text = client.get("/metrics").text
            dropped = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("tentacular_telemetry_spans_dropped_total{")
            )
            time.sleep(0.1)
    assert dropped == 60  # 30 runs × (run span + node span), none deliverable
    started = time.monotonic()
    engine.stop()
    assert engine.proc.returncode == 0
    assert time.monotonic() - started < 10  # exit is bounded even with the collector down
