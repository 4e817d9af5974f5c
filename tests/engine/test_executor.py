"""The executor on its own: scheduling, inputs, timeouts, retries, fail-fast, JSON checks."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from tentacular.engine._executor import execute, retry_delay
from tentacular.engine._secrets import Redactor
from tentacular.spec import Dag


def dag(nodes: list[str], edges: list[tuple[str, str]]) -> Dag:
    return Dag.build(nodes, edges)


async def test_inputs_root_single_and_multi_parent_in_edge_order() -> None:
    graph = dag(
        ["src", "left", "right", "join"],
        [("src", "right"), ("src", "left"), ("right", "join"), ("left", "join")],
    )
    seen: dict[str, Any] = {}

    async def run_node(node: str, value: Any) -> Any:
        seen[node] = value
        return {"from": node}

    result = await execute(graph, run_node, {"text": "hi"}, timeout=5, retries=0)
    assert result.success
    assert seen["src"] == {"text": "hi"}
    assert seen["left"] == {"from": "src"}
    assert seen["join"] == {"right": {"from": "right"}, "left": {"from": "left"}}
    assert list(seen["join"]) == ["right", "left"]  # edge order of workflow.yaml (F-063)


async def test_every_root_gets_the_same_payload() -> None:
    seen: dict[str, Any] = {}

    async def run_node(node: str, value: Any) -> Any:
        seen[node] = value
        return None

    await execute(dag(["a", "b"], []), run_node, [1, 2], timeout=5, retries=0)
    assert seen == {"a": [1, 2], "b": [1, 2]}


async def test_child_starts_before_slow_sibling_finishes() -> None:
    """Dependency-driven: c (child of fast b) must not wait for slow a of the same stage."""
    graph = dag(["a", "b", "c"], [("b", "c")])
    release = asyncio.Event()
    order: list[str] = []

    async def run_node(node: str, value: Any) -> Any:
        if node == "a":
            await release.wait()
        if node == "c":
            release.set()
        order.append(node)
        return node

    result = await execute(graph, run_node, {}, timeout=5, retries=0)
    assert result.success
    assert order == ["b", "c", "a"]


async def test_timed_out_attempt_is_cancelled_and_its_side_effect_never_happens() -> None:
    effects: list[str] = []

    async def run_node(node: str, value: Any) -> Any:
        await asyncio.sleep(0.2)
        effects.append("after timeout")
        return 1

    result = await execute(dag(["slow"], []), run_node, {}, timeout=0.05, retries=0)
    assert not result.success
    assert result.errors == {"slow": 'Node "slow" timed out after 50ms'}
    await asyncio.sleep(0.3)
    assert effects == []


async def test_retries_back_off_100ms_times_two_to_the_k() -> None:
    delays: list[float] = []
    attempts: list[int] = []

    async def fake_sleep(seconds: float) -> None:
        delays.append(seconds)

    async def run_node(node: str, value: Any) -> Any:
        attempts.append(1)
        if len(attempts) < 4:
            raise RuntimeError(f"flaky {len(attempts)}")
        return "ok"

    result = await execute(dag(["n"], []), run_node, {}, timeout=5, retries=3, sleep=fake_sleep)
    assert result.success and result.outputs == {"n": "ok"}
    assert delays == [0.1, 0.2, 0.4]
    assert [retry_delay(k) for k in range(3)] == [0.1, 0.2, 0.4]


async def test_last_error_is_reported_after_retries_run_out() -> None:
    delays: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        delays.append(seconds)

    calls = iter(range(10))

    async def run_node(node: str, value: Any) -> Any:
        raise ValueError(f"attempt {next(calls)}")

    result = await execute(dag(["n"], []), run_node, {}, timeout=5, retries=2, sleep=fake_sleep)
    assert result.errors == {"n": "ValueError: attempt 2"}
    assert delays == [0.1, 0.2]


async def test_timeout_applies_per_attempt_and_retry_can_succeed() -> None:
    calls: list[int] = []

    async def no_sleep(seconds: float) -> None:
        return None

    async def run_node(node: str, value: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            await asyncio.sleep(5)
        return "second try"

    result = await execute(dag(["n"], []), run_node, {}, timeout=0.05, retries=1, sleep=no_sleep)
    assert result.outputs == {"n": "second try"}


async def test_fail_fast_cancels_running_sibling_and_starts_nothing_new() -> None:
    graph = dag(["bad", "busy", "after-bad", "after-busy"], [("bad", "after-bad"), ("busy", "after-busy")])
    effects: list[str] = []

    async def run_node(node: str, value: Any) -> Any:
        if node == "bad":
            await asyncio.sleep(0)
            raise RuntimeError("boom")
        if node == "busy":
            await asyncio.sleep(5)
            effects.append("busy finished")
        effects.append(node)
        return node

    result = await execute(graph, run_node, {}, timeout=10, retries=0)
    assert result.errors == {"bad": "RuntimeError: boom"}
    assert result.cancelled == ["busy"]
    assert effects == []
    body = result.to_dict()
    assert body["success"] is False and body["cancelled"] == ["busy"] and body["outputs"] == {}


async def test_non_json_output_fails_cleanly() -> None:
    async def run_node(node: str, value: Any) -> Any:
        return {"when": {1, 2}} if node == "bad" else float("nan") if node == "nan" else {"fine": [1, 2.5]}

    result = await execute(dag(["bad", "nan", "good"], []), run_node, {}, timeout=5, retries=0)
    assert "bad" in result.errors or "nan" in result.errors
    message = result.errors.get("bad") or result.errors["nan"]
    assert "not JSON-serialisable" in message
    json.dumps(result.to_dict())


async def test_errors_and_outputs_are_redacted() -> None:
    redactor = Redactor(["s3cr3t-token"])

    async def run_node(node: str, value: Any) -> Any:
        if node == "leak":
            return {"token": "s3cr3t-token"}
        await asyncio.sleep(0.01)
        raise RuntimeError("auth failed for s3cr3t-token")

    result = await execute(dag(["leak", "fail"], []), run_node, {}, timeout=5, retries=0, redactor=redactor)
    text = result.to_json()
    assert "s3cr3t-token" not in text
    assert "[redacted]" in result.errors["fail"]


async def test_wire_shape_and_epoch_ms_timing() -> None:
    ticks = iter([1000.0, 1000.001, 1000.002, 1000.5])

    async def run_node(node: str, value: Any) -> Any:
        return 7

    result = await execute(dag(["n"], []), run_node, {}, timeout=5, retries=0, clock=lambda: next(ticks))
    assert result.to_dict() == {
        "success": True,
        "outputs": {"n": 7},
        "errors": {},
        "cancelled": [],
        "timing": {
            "startedAt": 1000000,
            "completedAt": 1000500,
            "durationMs": 500,
            "nodeTimings": {"n": {"startedAt": 1000001, "completedAt": 1000002, "durationMs": 1}},
        },
    }


async def test_outer_cancellation_cancels_running_nodes() -> None:
    effects: list[str] = []

    async def run_node(node: str, value: Any) -> Any:
        await asyncio.sleep(5)
        effects.append(node)

    task = asyncio.create_task(execute(dag(["a", "b"], []), run_node, {}, timeout=10, retries=0))
    await asyncio.sleep(0.01)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert task.cancelled() and effects == []
