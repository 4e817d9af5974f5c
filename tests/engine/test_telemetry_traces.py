"""Traces (issue 17): invoke_workflow / execute_node / client spans, captured in memory."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tentacular.engine._logs import LogSink
from tentacular.engine._telemetry import Observability
from tentacular.spec import load_workflow

from .conftest import CapturedLog, WorkflowWriter, running_server
from .telemetry_helpers import LocalService

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"

FETCHER = """
async def run(ctx, input):
    response = await ctx.dependency("api").fetch("/items?token=abc", method="GET")
    ctx.log.info("fetched")
    return {"status": response.status_code}
"""
FLAKY = """
calls = []

async def run(ctx, input):
    calls.append(1)
    if len(calls) == 1:
        raise RuntimeError("first attempt fails")
    return {"attempts": len(calls)}
"""


def in_memory(workflow_dir: Any) -> tuple[Observability, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    workflow = load_workflow(workflow_dir).workflow
    return Observability.create(workflow, env={}, span_processor=SimpleSpanProcessor(exporter)), exporter


def by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def contract_for(service: LocalService) -> dict[str, Any]:
    return {
        "version": "1",
        "dependencies": {"api": {"protocol": "http", "host": "127.0.0.1", "port": service.port}},
    }


async def test_span_tree_attributes_retries_and_propagation(
    make_flow: WorkflowWriter, sink: LogSink, captured: CapturedLog
) -> None:
    with LocalService() as api:
        flow = make_flow(
            {"fetch": FETCHER, "flaky": FLAKY},
            [("fetch", "flaky")],
            config={"retries": 1},
            contract=contract_for(api),
        )
        telemetry, exporter = in_memory(flow)
        async with running_server(flow, sink, telemetry=telemetry) as client:
            response = await client.post("/run", json={}, headers={"traceparent": TRACEPARENT})
            assert response.status_code == 200, response.text
    spans = exporter.get_finished_spans()
    [run] = by_name(spans, "invoke_workflow")
    # The run continues the caller's trace.
    assert format(run.context.trace_id, "032x") == CALLER_TRACE
    assert run.parent is not None and format(run.parent.span_id, "016x") == CALLER_SPAN
    assert run.kind == SpanKind.SERVER
    attributes = dict(run.attributes or {})
    assert attributes["tentacular.workflow.name"] == "test-flow"
    assert attributes["tentacular.workflow.version"] == "1.0"
    assert attributes["tentacular.trigger.type"] == "manual"
    assert attributes["tentacular.run.outcome"] == "success"
    run_id = attributes["tentacular.run.id"]
    assert isinstance(run_id, str) and len(run_id) == 12
    nodes = by_name(spans, "execute_node")
    assert all(n.parent is not None and n.parent.span_id == run.context.span_id for n in nodes)
    assert sorted(
        (n.attributes["tentacular.node.name"], n.attributes["tentacular.node.attempt"]) for n in nodes
    ) == [
        ("fetch", 1),
        ("flaky", 1),
        ("flaky", 2),
    ]
    first, second = sorted(
        (n for n in nodes if n.attributes["tentacular.node.name"] == "flaky"),
        key=lambda n: n.attributes["tentacular.node.attempt"],
    )
    # A retried attempt is visible: error status and the exception recorded, then a good one.
    assert first.status.status_code == StatusCode.ERROR
    assert first.attributes["tentacular.node.outcome"] == "error"
    [event] = [e for e in first.events if e.name == "exception"]
    assert event.attributes["exception.type"] == "RuntimeError"
    assert event.attributes["exception.message"] == "first attempt fails"
    assert (
        second.status.status_code == StatusCode.UNSET and second.attributes["tentacular.node.outcome"] == "ok"
    )
    assert second.attributes["tentacular.node.duration_ms"] >= 0
    # The outbound request: a CLIENT span under the fetch node, and its traceparent at the dependency.
    [fetch_node] = [n for n in nodes if n.attributes["tentacular.node.name"] == "fetch"]
    [http_span] = [s for s in spans if s.kind == SpanKind.CLIENT]
    assert http_span.parent is not None and http_span.parent.span_id == fetch_node.context.span_id
    assert http_span.attributes["http.request.method"] == "GET"
    assert http_span.attributes["http.response.status_code"] == 200
    assert http_span.attributes["url.full"] == f"{api.url}/items"  # the query string (tokens!) is left out
    [request] = api.requests
    sent = request["headers"]["traceparent"]
    assert sent == f"00-{CALLER_TRACE}-{format(http_span.context.span_id, '016x')}-01"
    # A node's JSON log line names workflow, node, run, trace and span.
    [line] = [json.loads(line) for line in captured.lines if '"fetched"' in line]
    assert line["workflow"] == "test-flow" and line["node"] == "fetch" and line["run"] == run_id
    assert line["trace_id"] == CALLER_TRACE and line["span_id"] == format(fetch_node.context.span_id, "016x")
    assert line["level"] == "info" and line["time"].endswith("Z")


FAILS_WITH_SECRET = """
async def run(ctx, input):
    raise ValueError("cannot use key " + ctx.dependency("api").secret)
"""


async def test_failure_records_exception_with_secrets_redacted(
    make_flow: WorkflowWriter, sink: LogSink, tmp_path: Any
) -> None:
    contract = {
        "version": "1",
        "dependencies": {
            "api": {
                "protocol": "https",
                "host": "api.example.com",
                "auth": {"type": "bearer-token", "secret": "api.key"},
            }
        },
    }
    flow = make_flow({"boom": FAILS_WITH_SECRET}, contract=contract)
    (flow / ".secrets.yaml").write_text("api:\n  key: s3cr3t-value-123\n")
    telemetry, exporter = in_memory(flow)
    async with running_server(flow, sink, telemetry=telemetry) as client:
        response = await client.post("/run", json={})
        assert response.status_code == 500
    spans = exporter.get_finished_spans()
    [run] = by_name(spans, "invoke_workflow")
    [node] = by_name(spans, "execute_node")
    assert run.status.status_code == StatusCode.ERROR
    assert run.attributes["tentacular.run.outcome"] == "failure"
    assert node.status.status_code == StatusCode.ERROR
    [event] = [e for e in node.events if e.name == "exception"]
    assert event.attributes["exception.type"] == "ValueError"
    everything = repr([(s.attributes, [(e.name, e.attributes) for e in s.events], s.status) for s in spans])
    assert "s3cr3t-value-123" not in everything
    assert "cannot use key" in str(event.attributes["exception.message"])


SLOW = "import asyncio\n\nasync def run(ctx, input):\n    await asyncio.sleep(30)\n"
FAST_FAIL = (
    "import asyncio\n\nasync def run(ctx, input):\n    await asyncio.sleep(0.2)\n    raise KeyError('x')\n"
)


@pytest.mark.parametrize("shape", ["timeout", "cancelled"])
async def test_timeouts_and_cancellations_are_visible(
    make_flow: WorkflowWriter, sink: LogSink, shape: str
) -> None:
    if shape == "timeout":
        flow = make_flow({"slow": SLOW}, config={"timeout": "100ms"})
    else:
        flow = make_flow({"slow": SLOW, "fails": FAST_FAIL})
    telemetry, exporter = in_memory(flow)
    async with running_server(flow, sink, telemetry=telemetry) as client:
        assert (await client.post("/run", json={})).status_code == 500
    [slow] = [
        s
        for s in by_name(exporter.get_finished_spans(), "execute_node")
        if s.attributes["tentacular.node.name"] == "slow"
    ]
    assert slow.attributes["tentacular.node.outcome"] == shape
    if shape == "timeout":
        assert slow.status.status_code == StatusCode.ERROR
        assert "timed out after 100ms" in str(slow.status.description)
    else:
        assert slow.status.status_code == StatusCode.UNSET
        assert [e.name for e in slow.events] == ["cancelled"]
        [run] = by_name(exporter.get_finished_spans(), "invoke_workflow")
        assert list(run.attributes["tentacular.run.cancelled"]) == ["slow"]


async def test_without_a_caller_each_run_is_a_new_trace(make_flow: WorkflowWriter, sink: LogSink) -> None:
    flow = make_flow({"echo": "async def run(ctx, input):\n    return input\n"})
    telemetry, exporter = in_memory(flow)
    async with running_server(flow, sink, telemetry=telemetry) as client:
        await client.post("/run", json={})
        await client.post("/run", json={}, headers={"x-tentacular-trigger": "cron"})
    runs = by_name(exporter.get_finished_spans(), "invoke_workflow")
    assert len({r.context.trace_id for r in runs}) == 2 and all(r.parent is None for r in runs)
    assert sorted(r.attributes["tentacular.trigger.type"] for r in runs) == ["cron", "manual"]
