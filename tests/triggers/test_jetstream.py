"""JetStream queue triggers against a real nats-server: at-least-once, DLQ, backpressure (issue 14)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats

from .conftest import RECORDING_NODE, Engine, NatsServer, recorded, wait_until, write_flow

SLOW_RECORDING_NODE = RECORDING_NODE.replace(
    "async def run(ctx, input):\n",
    "async def run(ctx, input):\n    await asyncio.sleep(ctx.config.get('sleep', 0))\n",
).replace("import json\n", "import asyncio\nimport json\n")


def _flow(tmp: Path, server: NatsServer, name: str, subject: str, **trigger: object) -> Path:
    return write_flow(
        tmp,
        name=name,
        triggers=[{"type": "queue", "name": "jobs", "subject": subject, "jetstream": True, **trigger}],
        node=SLOW_RECORDING_NODE,
        config={"nats_url": server.url, "out": str(tmp / "runs.jsonl"), "timeout": "2s", "sleep": 0.002},
    )


async def _publish(
    url: str, subject: str, payloads: list[dict[str, Any]], *, stream: str | None = None
) -> None:
    client = await nats.connect(url)
    js = client.jetstream()
    if stream is not None:
        await js.add_stream(name=stream, subjects=[subject])
    for payload in payloads:
        await js.publish(subject, json.dumps(payload).encode())
    await client.close()


def test_sigkill_mid_stream_then_restart_loses_nothing(
    tmp_path: Path, nats_server: NatsServer, engines: Callable[..., Engine]
) -> None:
    flow = _flow(tmp_path, nats_server, "js-crash", "js.crash", maxConcurrency=8)
    asyncio.run(_publish(nats_server.url, "js.crash", [{"n": i} for i in range(1000)], stream="JS_CRASH"))
    out = tmp_path / "runs.jsonl"
    first = engines(flow)
    wait_until(lambda: len(recorded(out)) >= 300, what="300 runs before the crash")
    first.kill()  # SIGKILL: no drain, no acks for the runs in flight
    ran_before = len(recorded(out))
    assert ran_before < 1000, "the crash came too late to prove anything"
    second = engines(flow)
    wait_until(lambda: len({r["n"] for r in recorded(out)}) >= 1000, what="every message to run")
    runs = Counter(r["n"] for r in recorded(out))
    assert sorted(runs) == list(range(1000)), "a message was lost"
    duplicates = sum(count - 1 for count in runs.values())
    print(f"\nJetStream crash test: {ran_before} runs before SIGKILL, {duplicates} duplicate run(s)")
    assert duplicates <= 8 + 8  # at most the runs in flight plus one fetched batch at the moment of the crash
    wait_until(
        lambda: second.counters("jobs")["processed"] == 1000 - ran_before + duplicates, what="counters"
    )
    assert second.counters("jobs")["redelivered"] >= duplicates


def test_poison_message_reaches_the_dlq_after_max_deliver_while_others_complete(
    tmp_path: Path, nats_server: NatsServer, engines: Callable[..., Engine]
) -> None:
    flow = _flow(tmp_path, nats_server, "js-poison", "js.poison", maxDeliver=3, maxConcurrency=2)
    messages = [{"n": i} for i in range(20)]
    messages[5] = {"n": 5, "poison": True}
    engine = engines(flow)
    engine.wait_for(lambda m: "JetStream: consuming js.poison" in m)
    asyncio.run(_publish(nats_server.url, "js.poison", messages))
    wait_until(lambda: engine.counters("jobs")["deadLettered"] == 1, what="the dead letter")
    wait_until(lambda: engine.counters("jobs")["processed"] == 19, what="the other messages")
    runs = Counter(r["n"] for r in recorded(tmp_path / "runs.jsonl"))
    assert runs[5] == 3  # maxDeliver attempts, then no more
    assert all(runs[n] == 1 for n in range(20) if n != 5)

    async def last_dead_letter() -> Any:
        client = await nats.connect(nats_server.url)
        js = client.jetstream()
        stream = await js.find_stream_name_by_subject("js.poison.dlq")
        message = await js.get_last_msg(stream, "js.poison.dlq")
        await client.close()
        return message

    dead = asyncio.run(last_dead_letter())
    assert json.loads(dead.data) == {"n": 5, "poison": True}  # the original payload, untouched
    assert "poison message: always fails" in dead.headers["Tentacular-Error"]
    assert dead.headers["Tentacular-Deliveries"] == "3"
    assert dead.headers["Tentacular-Subject"] == "js.poison"
    assert engine.counters("jobs")["redelivered"] == 2
    assert any("dead-lettered to js.poison.dlq after 3 attempt(s)" in m for m in engine.messages())


def test_max_concurrency_holds_with_500_queued_and_memory_stays_flat(
    tmp_path: Path, nats_server: NatsServer, engines: Callable[..., Engine]
) -> None:
    flow = _flow(tmp_path, nats_server, "js-press", "js.press", maxConcurrency=4)
    asyncio.run(
        _publish(
            nats_server.url, "js.press", [{"n": i, "pad": "x" * 2000} for i in range(500)], stream="JS_PRESS"
        )
    )
    engine = engines(flow)
    wait_until(lambda: engine.counters("jobs")["processed"] >= 50, what="50 runs")
    early = engine.rss_kib()
    samples = []
    while engine.counters("jobs")["processed"] < 500:
        counters = engine.counters("jobs")
        samples.append(counters["inFlight"])
        assert counters["inFlight"] <= 4
    late = engine.rss_kib()
    counters = engine.counters("jobs")
    assert (
        counters["maxInFlight"] == 4
    )  # the limit was reached and never passed (the engine's own peak counter)
    assert max(samples) <= 4
    assert late - early < 16 * 1024, f"RSS grew {late - early} KiB while 450 messages ran"


def test_a_payload_that_can_never_run_is_dead_lettered_at_once(
    tmp_path: Path, nats_server: NatsServer, engines: Callable[..., Engine]
) -> None:
    flow = write_flow(
        tmp_path,
        name="js-schema",
        triggers=[
            {
                "type": "queue",
                "name": "jobs",
                "subject": "js.schema",
                "jetstream": True,
                "schema": "schema.json",
                "maxPayload": 100,
            }
        ],
        node=RECORDING_NODE,
        config={"nats_url": nats_server.url, "out": str(tmp_path / "runs.jsonl")},
        files={"schema.json": json.dumps({"type": "object", "required": ["n"]})},
    )
    engine = engines(flow)
    engine.wait_for(lambda m: "JetStream: consuming js.schema" in m)
    asyncio.run(_publish(nats_server.url, "js.schema", [{"other": 1}, {"n": 1}, {"n": 2, "pad": "x" * 200}]))
    wait_until(lambda: engine.counters("jobs")["deadLettered"] == 2, what="two dead letters")
    wait_until(lambda: engine.counters("jobs")["processed"] == 1, what="the valid message")
    assert engine.counters("jobs")["rejected"] == 2 and engine.counters("jobs")["redelivered"] == 0
    assert [r["n"] for r in recorded(tmp_path / "runs.jsonl")] == [1]  # rejected payloads never ran

    async def dead_letters() -> list[Any]:
        client = await nats.connect(nats_server.url)
        js = client.jetstream()
        sub = await js.pull_subscribe(
            "js.schema.dlq", stream=await js.find_stream_name_by_subject("js.schema.dlq")
        )
        messages = await sub.fetch(2, timeout=10)
        await client.close()
        return messages

    errors = sorted(m.headers["Tentacular-Error"] for m in asyncio.run(dead_letters()))
    assert "does not match schema schema.json at (root): required rule" in errors[0]
    assert "exceeds maxPayload 100" in errors[1]
