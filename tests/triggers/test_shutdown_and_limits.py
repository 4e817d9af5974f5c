"""SIGTERM drains JetStream work without losing any; the token bucket paces runs (issue 14)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import nats

from tentacular.engine._triggers._limits import ConcurrencyGate, TokenBucket

from .conftest import RECORDING_NODE, Engine, NatsServer, recorded, wait_until, write_flow

SLOW_NODE = RECORDING_NODE.replace("import json\n", "import asyncio\nimport json\n").replace(
    "async def run(ctx, input):\n", "async def run(ctx, input):\n    await asyncio.sleep(1.0)\n"
)


def test_sigterm_finishes_and_acks_in_flight_runs_and_leaves_the_rest_queued(
    tmp_path: Path, nats_server: NatsServer, engines: Callable[..., Engine]
) -> None:
    flow = write_flow(
        tmp_path,
        name="drain-flow",
        triggers=[
            {"type": "queue", "name": "jobs", "subject": "drain.jobs", "jetstream": True, "maxConcurrency": 2}
        ],
        node=SLOW_NODE,
        config={"nats_url": nats_server.url, "out": str(tmp_path / "runs.jsonl"), "timeout": "10s"},
    )

    async def publish() -> None:
        client = await nats.connect(nats_server.url)
        js = client.jetstream()
        await js.add_stream(name="DRAIN", subjects=["drain.jobs"])
        for n in range(10):
            await js.publish("drain.jobs", json.dumps({"n": n}).encode())
        await client.close()

    asyncio.run(publish())
    first = engines(flow)
    wait_until(lambda: first.counters("jobs")["inFlight"] == 2, what="two runs in flight")
    assert first.terminate() == 0
    finished_by_first = first_runs = len(recorded(tmp_path / "runs.jsonl"))
    assert 2 <= first_runs < 10
    messages = first.messages()
    assert any("triggers: intake stopped; up to 10s for 2 run(s) in flight" in m for m in messages)
    second = engines(flow)
    wait_until(lambda: len({r["n"] for r in recorded(tmp_path / "runs.jsonl")}) == 10, what="the rest")
    runs = Counter(r["n"] for r in recorded(tmp_path / "runs.jsonl"))
    assert sorted(runs) == list(range(10))
    assert max(runs.values()) == 1  # the runs finished during the drain were acked: none ran again
    assert second.counters("jobs")["redelivered"] == 0
    assert finished_by_first + second.counters("jobs")["processed"] == 10


async def test_token_bucket_paces_with_an_injected_clock() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)
        now[0] += delay

    bucket = TokenBucket(2, 1.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(6):
        await bucket.take()
    assert now[0] == 2.0  # burst of 2, then 2 per second: 6 tokens take 2 seconds
    assert all(abs(delay - 0.5) < 1e-9 for delay in slept)


async def test_concurrency_gate_never_admits_more_than_its_limit() -> None:
    gate = ConcurrencyGate(3)
    peak = 0

    async def work() -> None:
        nonlocal peak
        await gate.acquire()
        peak = max(peak, gate.busy)
        await asyncio.sleep(0)
        await gate.release()

    await asyncio.gather(*(work() for _ in range(50)))
    assert peak == 3 and gate.busy == 0
