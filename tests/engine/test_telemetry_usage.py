"""Token usage (issue 17): ``ctx.usage`` and automatic recognition of Anthropic / OpenAI answers fetched
through ``ctx.dependency(...).fetch`` from a local fake LLM API; totals in the run result and metrics."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from tentacular.engine._logs import LogSink
from tentacular.engine._telemetry import Observability
from tentacular.spec import load_workflow

from .conftest import WorkflowWriter, running_server
from .telemetry_helpers import LocalService

CALLS_ALL_THREE = """
async def run(ctx, input):
    llm = ctx.dependency("llm")
    a = await llm.fetch("/v1/messages", method="POST", json={"model": "claude"})
    b = await llm.fetch("/v1/chat/completions", method="POST", json={"model": "gpt"})
    c = await llm.fetch("/v1/responses", method="POST", json={"model": "gpt"})
    other = await llm.fetch("/v1/models")
    return [a.json()["model"], b.json()["model"], c.json()["model"], other.status_code]
"""
REPORTS_ITSELF = """
async def run(ctx, input):
    answer = (await ctx.dependency("llm").fetch("/v1/messages", method="POST", json={})).json()
    # The node reports the same call with its own cost: counted once, with the cost.
    ctx.usage(model=answer["model"], input_tokens=15, output_tokens=6, provider="anthropic", cost=0.0012)
    ctx.usage(model="local-embedder", input_tokens=100, output_tokens=0, provider="self-hosted")
    return {"ok": True}
"""
SYNC_REPORT = """
def run(ctx, input):
    ctx.usage(model="gpt-4.1", input_tokens=7, output_tokens=3)
    return {}
"""


def contract(service: LocalService) -> dict[str, Any]:
    return {
        "version": "1",
        "dependencies": {"llm": {"protocol": "http", "host": "127.0.0.1", "port": service.port}},
    }


async def test_recognised_and_reported_usage_in_the_result_and_metrics(
    make_flow: WorkflowWriter, sink: LogSink
) -> None:
    with LocalService() as llm:
        flow = make_flow(
            {"auto": CALLS_ALL_THREE, "manual": REPORTS_ITSELF, "sync": SYNC_REPORT},
            [("auto", "manual"), ("manual", "sync")],
            contract=contract(llm),
        )
        async with running_server(flow, sink) as client:
            body = (await client.post("/run", json={})).json()
            metrics = (await client.get("/metrics")).text
    assert body["success"] is True, body
    usage = body["usage"]
    assert usage["nodes"]["auto"] == {
        "inputTokens": 15 + 19 + 36,  # Anthropic counts cache reads as input too: 12 + 3
        "outputTokens": 6 + 10 + 87,
        "totalTokens": 15 + 19 + 36 + 6 + 10 + 87,
        "cost": None,
        "calls": 3,
    }
    assert usage["nodes"]["manual"] == {
        "inputTokens": 115,
        "outputTokens": 6,
        "totalTokens": 121,
        "cost": 0.0012,
        "calls": 2,
    }
    assert usage["nodes"]["sync"]["inputTokens"] == 7
    assert usage["total"]["inputTokens"] == 70 + 115 + 7 and usage["total"]["calls"] == 6
    assert usage["total"]["cost"] == 0.0012
    assert usage["models"]["claude-sonnet-4-5-20250929"]["provider"] == "anthropic"
    assert usage["models"]["claude-sonnet-4-5-20250929"]["calls"] == 2
    assert usage["models"]["gpt-4.1-2025-04-14"]["provider"] == "openai"
    assert usage["models"]["gpt-4.1"]["provider"] is None
    tokens = {
        (s.labels["model"], s.labels["type"]): s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
        if s.name == "tentacular_llm_tokens_total"
    }
    assert tokens[("claude-sonnet-4-5-20250929", "input")] == 30
    assert tokens[("gpt-4.1-mini-2025-04-14", "output")] == 87
    assert tokens[("local-embedder", "input")] == 100
    cost = [
        s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
        if s.name == "tentacular_llm_cost_total"
    ]
    assert cost == [0.0012]


async def test_runs_without_llm_calls_have_no_usage_block(make_flow: WorkflowWriter, sink: LogSink) -> None:
    async with running_server(make_flow({"e": "async def run(ctx, input):\n    return 1\n"}), sink) as client:
        assert "usage" not in (await client.post("/run", json={})).json()


async def test_genai_attributes_on_node_and_run_spans(make_flow: WorkflowWriter, sink: LogSink) -> None:
    with LocalService() as llm:
        flow = make_flow({"manual": REPORTS_ITSELF}, contract=contract(llm))
        exporter = InMemorySpanExporter()
        telemetry = Observability.create(
            load_workflow(flow).workflow, env={}, span_processor=SimpleSpanProcessor(exporter)
        )
        async with running_server(flow, sink, telemetry=telemetry) as client:
            assert (await client.post("/run", json={})).status_code == 200
    spans = {span.name: span for span in exporter.get_finished_spans()}
    node = spans["execute_node"].attributes
    assert node["gen_ai.usage.input_tokens"] == 115 and node["gen_ai.usage.output_tokens"] == 6
    assert node["gen_ai.response.model"] == "claude-sonnet-4-5-20250929,local-embedder"
    assert node["tentacular.llm.cost"] == 0.0012
    assert spans["invoke_workflow"].attributes["gen_ai.usage.input_tokens"] == 115
    client_span = spans["POST"].attributes
    assert (
        client_span["gen_ai.provider.name"] == "anthropic" and client_span["gen_ai.usage.input_tokens"] == 15
    )


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("model=None, input_tokens=1, output_tokens=1", "model must be a non-empty string, got NoneType"),
        (
            "model='m', input_tokens='12', output_tokens=1",
            "input_tokens must be a non-negative integer, got str",
        ),
        (
            "model='m', input_tokens=1, output_tokens=1.5",
            "output_tokens must be a non-negative integer, got float",
        ),
        (
            "model='m', input_tokens=True, output_tokens=1",
            "input_tokens must be a non-negative integer, got bool",
        ),
        ("model='m', input_tokens=-1, output_tokens=1", "input_tokens must be >= 0, got -1"),
        (
            "model='m', input_tokens=1, output_tokens=1, cost='free'",
            "cost must be a non-negative number or None",
        ),
        (
            "model='m', input_tokens=1, output_tokens=1, provider=3",
            "provider must be a non-empty string or None",
        ),
        ("'m', 1, 1", "takes 1 positional argument but 4 were given"),
    ],
)
async def test_wrong_types_fail_the_node_with_a_clear_error(
    make_flow: WorkflowWriter, sink: LogSink, call: str, expected: str
) -> None:
    node = f"async def run(ctx, input):\n    ctx.usage({call})\n    return {{}}\n"
    async with running_server(make_flow({"bad": node}), sink) as client:
        body = (await client.post("/run", json={})).json()
    assert body["success"] is False
    assert expected in body["errors"]["bad"], body["errors"]
    assert "usage" not in body


def test_tntc_run_local_shows_totals_and_json_usage(make_flow: WorkflowWriter) -> None:
    from .test_cli_engine import tntc

    with LocalService() as llm:
        flow = make_flow(
            {"auto": CALLS_ALL_THREE, "manual": REPORTS_ITSELF}, [("auto", "manual")], contract=contract(llm)
        )
        doc_run = tntc("-o", "json", "run", "--local", str(flow))
        text_run = tntc("run", "--local", str(flow))
    assert doc_run.code == 0, doc_run.err + doc_run.out
    import json

    doc = json.loads(doc_run.out)
    assert doc["execution"]["usage"]["total"]["inputTokens"] == 70 + 115
    assert doc["execution"]["usage"]["total"]["cost"] == 0.0012
    assert text_run.code == 0
    assert "Token usage: 294 tokens (185 in, 109 out), cost 0.0012 in 5 LLM call(s)" in text_run.err
    assert doc["summary"].endswith("; 294 tokens (185 in, 109 out), cost 0.0012")


async def test_health_detail_summarises_usage_since_start(make_flow: WorkflowWriter, sink: LogSink) -> None:
    with LocalService() as llm:
        flow = make_flow({"manual": REPORTS_ITSELF}, contract=contract(llm))
        async with running_server(flow, sink) as client:
            for _ in range(2):
                await client.post("/run", json={})
            detail = (await client.get("/health?detail=1")).json()
    usage = detail["usage"]
    assert usage["total"] == {"inputTokens": 230, "outputTokens": 12, "calls": 4}
    claude = usage["models"]["claude-sonnet-4-5-20250929"]
    assert claude["provider"] == "anthropic" and claude["calls"] == 2 and claude["cost"] == 0.0024
