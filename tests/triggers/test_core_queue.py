"""Core NATS queue triggers against a real nats-server (issue 14, INVENTORY §4.8.3, Q34)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import nats

from .conftest import RECORDING_NODE, Engine, NatsServer, recorded, wait_until, write_flow


def _flow(tmp: Path, server: NatsServer, subject: str, **trigger: object) -> Path:
    return write_flow(
        tmp,
        name="core-flow",
        triggers=[{"type": "queue", "name": "orders", "subject": subject, **trigger}],
        node=RECORDING_NODE,
        config={"nats_url": server.url, "out": str(tmp / "runs.jsonl")},
    )


async def _publish(url: str, subject: str, payloads: list[bytes]) -> None:
    client = await nats.connect(url)
    for payload in payloads:
        await client.publish(subject, payload)
    await client.flush()
    await client.close()


def test_two_engines_in_one_queue_group_share_1000_messages_without_running_any_twice(
    tmp_path: Path, nats_server: NatsServer, engines: Callable[..., Engine]
) -> None:
    flow = _flow(tmp_path, nats_server, "core.share", maxConcurrency=8)
    first, second = engines(flow), engines(flow)
    for engine in (first, second):
        engine.wait_for(lambda m: "subscribed to core.share (queue group core-flow)" in m)
    asyncio.run(_publish(nats_server.url, "core.share", [json.dumps({"n": i}).encode() for i in range(1000)]))
    out = tmp_path / "runs.jsonl"
    wait_until(lambda: len(recorded(out)) >= 1000, what="1000 runs")
    runs = recorded(out)
    counts = Counter(run["n"] for run in runs)
    assert sorted(counts) == list(range(1000))
    assert max(counts.values()) == 1, "a message ran twice"
    per_engine = Counter(run["pid"] for run in runs)
    assert set(per_engine) == {first.proc.pid, second.proc.pid}  # both members got a share
    assert all(run["trigger"] == "orders" for run in runs)  # trigger = name ?? subject
    processed = [e.counters("orders")["processed"] for e in (first, second)]
    assert sum(processed) == 1000
    assert all(e.counters("orders")["maxInFlight"] <= 8 for e in (first, second))


async def _request(
    url: str, subject: str, payload: bytes, headers: dict[str, str] | None = None
) -> dict[str, object]:
    client = await nats.connect(url)
    try:
        reply = await client.request(subject, payload, timeout=20, headers=headers)
    finally:
        await client.close()
    result: dict[str, object] = json.loads(reply.data)
    return result


def test_request_reply_returns_the_execution_result(
    tmp_path: Path, nats_server: NatsServer, engines: Callable[..., Engine]
) -> None:
    engine = engines(_flow(tmp_path, nats_server, "core.reply"))
    engine.wait_for(lambda m: "subscribed to core.reply" in m)
    result = asyncio.run(_request(nats_server.url, "core.reply", b'{"n": 7}'))
    assert result["success"] is True
    assert result["outputs"] == {"work": {"n": 7, "pid": engine.proc.pid}}
    failed = asyncio.run(_request(nats_server.url, "core.reply", b'{"n": 8, "poison": true}'))
    assert failed["success"] is False
    assert "poison message" in json.dumps(failed["errors"])
    assert engine.counters("orders")["failed"] == 1
    assert any("NATS-triggered execution failed on core.reply" in m for m in engine.messages())


def test_payload_forms_and_rejections(
    tmp_path: Path, nats_server: NatsServer, engines: Callable[..., Engine]
) -> None:
    echo = "async def run(ctx, input):\n    return input\n"
    flow = write_flow(
        tmp_path,
        name="payload-flow",
        triggers=[{"type": "queue", "subject": "core.payload", "maxPayload": 64, "schema": "schema.json"}],
        node=echo,
        config={"nats_url": nats_server.url},
        files={"schema.json": json.dumps({"type": "object", "properties": {"n": {"type": "integer"}}})},
    )
    engine = engines(flow)
    engine.wait_for(lambda m: "subscribed to core.payload" in m)

    def ask(data: bytes, content_type: str | None = None) -> dict[str, object]:
        headers = {"Content-Type": content_type} if content_type else None
        return asyncio.run(_request(nats_server.url, "core.payload", data, headers))

    def output(data: bytes, content_type: str | None = None) -> object:
        answer = ask(data, content_type)
        assert answer["success"] is True, answer
        return answer["outputs"]["work"]  # type: ignore[index]

    assert output(b"") == {"trigger": "core.payload"}
    assert output(b'{"n": 1}') == {"n": 1, "trigger": "core.payload"}
    assert output(b"hello") == {"data": "hello", "trigger": "core.payload"}
    assert output(b"caf\xc3\xa9", "text/plain; charset=utf-8") == {"data": "café", "trigger": "core.payload"}
    assert output(b"\x00\xff", "image/png") == {
        "data": "AP8=",
        "encoding": "base64",
        "contentType": "image/png",
        "trigger": "core.payload",
    }
    bad_schema = ask(b'{"n": "x"}')
    assert bad_schema["success"] is False and "does not match schema schema.json at n" in json.dumps(
        bad_schema
    )
    bad_json = ask(b"{nope", "application/json")
    assert bad_json["success"] is False and "not valid JSON" in json.dumps(bad_json)
    oversize = ask(b"x" * 65)
    assert oversize["success"] is False and "exceeds maxPayload 64" in json.dumps(oversize)
    assert engine.counters("core.payload")["rejected"] == 3
    assert any("message rejected: payload of 65 bytes exceeds maxPayload 64" in m for m in engine.messages())
