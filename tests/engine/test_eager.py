"""Eager node tasks (issue 19): a node runs at once, in its own task and context, even before it waits."""

from __future__ import annotations

import asyncio
import contextvars
import itertools
from typing import Any

from tentacular.engine._executor import execute
from tentacular.spec import Dag

MARK: contextvars.ContextVar[str] = contextvars.ContextVar("mark", default="unset")


async def test_each_node_is_its_own_task_with_its_own_context() -> None:
    outer = asyncio.current_task()
    seen: dict[str, Any] = {}

    async def run_node(node: str, value: Any) -> Any:
        task = asyncio.current_task()
        seen[node] = (task is not outer, MARK.get())
        MARK.set(node)  # must not leak into a sibling or the caller
        if node == "waits":
            async with asyncio.timeout(5):  # binds to the node's own task
                await asyncio.sleep(0.01)
        return node

    graph = Dag.build(["fast", "waits", "after"], [("fast", "after"), ("waits", "after")])
    result = await execute(graph, run_node, {}, timeout=10, retries=0)
    assert result.outputs == {"fast": "fast", "waits": "waits", "after": "after"}
    assert seen["fast"] == (True, "unset") and seen["waits"] == (
        True,
        "unset",
    )  # siblings do not see each other
    assert seen["after"][0] is True  # (its context is copied from the parent that finished last, as before)
    assert MARK.get() == "unset"  # nor does the caller


async def test_a_node_that_never_waits_finishes_before_the_caller_yields() -> None:
    order: list[str] = []

    async def run_node(node: str, value: Any) -> Any:
        order.append(node)
        return value + 1

    loop = asyncio.get_running_loop()
    loop.call_soon(order.append, "loop turn")
    graph = Dag.build(["a", "b", "c"], [("a", "b"), ("b", "c")])
    result = await execute(graph, run_node, 0, timeout=10, retries=0)
    assert result.outputs["c"] == 3
    assert order == ["a", "b", "c"]  # no event-loop turn in between
    await asyncio.sleep(0)
    assert order[-1] == "loop turn"


async def test_a_long_chain_of_instant_nodes_does_not_nest() -> None:
    names = [f"n{i:04d}" for i in range(3000)]

    async def run_node(node: str, value: Any) -> Any:
        return value + 1

    graph = Dag.build(names, list(itertools.pairwise(names)))
    result = await execute(graph, run_node, 0, timeout=10, retries=0)
    assert result.outputs[names[-1]] == 3000
