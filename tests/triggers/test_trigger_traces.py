"""Triggers continue the sender's trace (issue 17): a webhook's ``traceparent`` header and a NATS
message's ``traceparent`` header (core and JetStream) become the parent of the run's span, seen by a
real OTLP/HTTP collector; trigger events and runs by trigger type are on ``/metrics``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import nats
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.engine.telemetry_helpers import OtlpReceiver

from .conftest import RECORDING_NODE, Engine, NatsServer, recorded, wait_until, write_flow
from .test_webhooks import _signed

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE}-{PARENT}-01"
SERVER, CONSUMER = 2, 5  # OTLP SpanKind


def _series(engine: Engine) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(engine.url + "/metrics", timeout=10).text
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _run_spans(collector: OtlpReceiver, count: int) -> list[dict[str, object]]:
    wait_until(
        lambda: len([s for s in collector.spans() if s["name"] == "invoke_workflow"]) >= count,
        what="run spans at the collector",
    )
    return [s for s in collector.spans() if s["name"] == "invoke_workflow"]


def test_a_webhook_delivery_continues_the_senders_trace(
    tmp_path: Path, engines: Callable[..., Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    with OtlpReceiver() as collector:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
        flow = write_flow(
            tmp_path,
            name="hook-flow",
            triggers=[{"type": "webhook", "name": "prs", "provider": "github", "event": "pull_request"}],
            node=RECORDING_NODE,
            config={"out": str(tmp_path / "runs.jsonl")},
        )
        secrets = tmp_path / "secrets.yaml"
        secrets.write_text(yaml.safe_dump({"github": {"webhook_secret": "whsec-0123456789abcdef"}}))
        engine = engines(flow, secrets=secrets)
        body = json.dumps({"action": "opened", "n": 1}).encode()
        headers = {
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": "d-trace",
            "X-Hub-Signature-256": _signed(body),
            "Content-Type": "application/json",
            "traceparent": TRACEPARENT,
        }
        response = httpx.post(engine.url + "/webhook/github", content=body, headers=headers, timeout=20)
        assert response.status_code == 202, response.text
        wait_until(lambda: len(recorded(tmp_path / "runs.jsonl")) == 1, what="the webhook run")
        [run] = _run_spans(collector, 1)
        metrics = _series(engine)
    assert run["trace_id"] == TRACE and run["parent_id"] == PARENT
    assert run["kind"] == SERVER
    attributes = run["attributes"]
    assert isinstance(attributes, dict) and attributes["tentacular.trigger.type"] == "webhook"
    workflow = (("workflow", "hook-flow"),)
    assert (
        metrics[("tentacular_runs_total", (("outcome", "success"), ("trigger", "webhook"), *workflow))] == 1
    )
    events = "tentacular_trigger_events_total"
    assert metrics[(events, (("outcome", "processed"), ("trigger", "prs"), *workflow))] == 1
    assert metrics[(events, (("outcome", "received"), ("trigger", "prs"), *workflow))] == 1


async def _send(url: str, *, core: str, stream_subject: str) -> dict[str, object]:
    client = await nats.connect(url)
    try:
        reply = await client.request(core, b'{"n": 1}', timeout=20, headers={"traceparent": TRACEPARENT})
        js = client.jetstream()
        await js.publish(stream_subject, b'{"n": 2}', headers={"traceparent": TRACEPARENT})
    finally:
        await client.close()
    result: dict[str, object] = json.loads(reply.data)
    return result


def test_nats_messages_continue_the_publishers_trace(
    tmp_path: Path,
    nats_server: NatsServer,
    engines: Callable[..., Engine],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with OtlpReceiver() as collector:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
        flow = write_flow(
            tmp_path,
            name="queue-flow",
            triggers=[
                {"type": "queue", "name": "orders", "subject": "traced.core"},
                {"type": "queue", "name": "jobs", "subject": "traced.js", "jetstream": True},
            ],
            node=RECORDING_NODE,
            config={"nats_url": nats_server.url, "out": str(tmp_path / "runs.jsonl")},
        )
        engine = engines(flow)
        engine.wait_for(lambda m: "subscribed to traced.core" in m)
        engine.wait_for(lambda m: "traced.js" in m and "consum" in m.lower())
        result = asyncio.run(_send(nats_server.url, core="traced.core", stream_subject="traced.js"))
        assert result["success"] is True
        wait_until(lambda: len(recorded(tmp_path / "runs.jsonl")) == 2, what="both queue runs")
        runs = _run_spans(collector, 2)
        wait_until(lambda: engine.counters("jobs")["processed"] == 1, what="the JetStream ack")
        metrics = _series(engine)
    assert len(runs) == 2
    for run in runs:
        assert run["trace_id"] == TRACE and run["parent_id"] == PARENT
        assert run["kind"] == CONSUMER
        attributes = run["attributes"]
        assert isinstance(attributes, dict) and attributes["tentacular.trigger.type"] == "queue"
    workflow = (("workflow", "queue-flow"),)
    assert metrics[("tentacular_runs_total", (("outcome", "success"), ("trigger", "queue"), *workflow))] == 2
    events = "tentacular_trigger_events_total"
    for name in ("orders", "jobs"):
        assert metrics[(events, (("outcome", "processed"), ("trigger", name), *workflow))] == 1
