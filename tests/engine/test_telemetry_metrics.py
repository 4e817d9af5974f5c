"""``GET /metrics`` (issue 17): Prometheus text after successful, failed, retried and timed-out runs."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tentacular.engine._logs import LogSink

from .conftest import WorkflowWriter, running_server

MIXED = """
import asyncio

calls = {"flaky": 0}

async def run(ctx, input):
    mode = input.get("mode")
    if mode == "fail":
        raise ValueError("asked to fail")
    if mode == "slow":
        await asyncio.sleep(30)
    if mode == "flaky":
        calls["flaky"] += 1
        if calls["flaky"] % 2 == 1:
            raise RuntimeError("odd attempt")
    return {"ok": True}
"""
REFUSED = """
async def run(ctx, input):
    if input.get("mode") == "guard":
        from tentacular.errors import GuardViolation
        raise OSError("All connection attempts failed") from GuardViolation(
            "connection to 10.9.9.9:443 refused: not declared in contract.dependencies"
        )
    return input
"""


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(all_samples: dict[Any, float], name: str, **labels: str) -> float:
    return all_samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_after_a_mix_of_runs(make_flow: WorkflowWriter, sink: LogSink) -> None:
    flow = make_flow(
        {"work": MIXED, "check": REFUSED}, [("work", "check")], config={"timeout": "200ms", "retries": 1}
    )
    async with running_server(flow, sink) as client:
        for mode in ("ok", "ok", "fail", "slow", "flaky"):
            await client.post("/run", json={"mode": mode})
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    got = samples(response.text)
    wf = "test-flow"
    # ok, ok, flaky (second attempt succeeds) succeed; fail (twice) and slow (two timeouts) fail.
    assert value(got, "tentacular_runs_total", workflow=wf, outcome="success", trigger="manual") == 3
    assert value(got, "tentacular_runs_total", workflow=wf, outcome="failure", trigger="manual") == 2
    assert value(got, "tentacular_run_duration_seconds_count", workflow=wf, outcome="success") == 3
    assert value(got, "tentacular_run_duration_seconds_count", workflow=wf, outcome="failure") == 2
    assert (
        value(got, "tentacular_run_duration_seconds_bucket", workflow=wf, outcome="failure", le="+Inf") == 2
    )
    assert value(got, "tentacular_runs_in_flight", workflow=wf) == 0
    # Retries: fail, slow and flaky each had a second attempt.
    assert value(got, "tentacular_node_retries_total", workflow=wf, node="work") == 3
    assert value(got, "tentacular_node_timeouts_total", workflow=wf, node="work") == 2
    node = "tentacular_node_duration_seconds_count"
    assert value(got, node, workflow=wf, node="work", outcome="ok") == 3
    assert value(got, node, workflow=wf, node="work", outcome="error") == 3  # fail ×2, flaky ×1
    assert value(got, node, workflow=wf, node="work", outcome="timeout") == 2
    assert value(got, node, workflow=wf, node="check", outcome="ok") == 3
    # Histograms are cumulative and consistent: the slow attempts sit above 0.1 s.
    timeouts_fast = value(
        got, "tentacular_node_duration_seconds_bucket", workflow=wf, node="work", outcome="timeout", le="0.1"
    )
    assert timeouts_fast == 0
    assert (
        value(
            got,
            "tentacular_node_duration_seconds_bucket",
            workflow=wf,
            node="work",
            outcome="timeout",
            le="+Inf",
        )
        == 2
    )
    total = value(got, "tentacular_node_duration_seconds_sum", workflow=wf, node="work", outcome="timeout")
    assert 0.35 < total < 5


async def test_guard_refusals_are_counted_by_kind(make_flow: WorkflowWriter, sink: LogSink) -> None:
    flow = make_flow({"check": REFUSED})
    async with running_server(flow, sink) as client:
        await client.post("/run", json={"mode": "guard"})
        await client.post("/run", json={"mode": "fine"})
        got = samples((await client.get("/metrics")).text)
    assert value(got, "tentacular_guard_refusals_total", workflow="test-flow", kind="network") == 1
    assert value(got, "tentacular_runs_total", workflow="test-flow", outcome="failure", trigger="manual") == 1


async def test_metrics_route_methods(make_flow: WorkflowWriter, sink: LogSink) -> None:
    async with running_server(make_flow({"e": "async def run(ctx, input):\n    return 1\n"}), sink) as client:
        assert (await client.post("/metrics")).status_code == 404
        text = (await client.get("/metrics")).text
    # Every series family is declared even before it has samples.
    assert "# TYPE tentacular_llm_tokens_total counter" in text
    assert "# TYPE tentacular_node_duration_seconds histogram" in text
