"""TypeScript nodes on the Deno worker: per-node overhead over Python, worker cold start, RSS.

``trivial3-ts`` and ``wide-ts`` are ``trivial3`` and ``wide`` with every node written in
TypeScript. Per-node overhead is measured in process (the executor driving the worker
over its pipes), as the difference of median run times divided by the number of nodes,
so the two runs share one machine state. Targets are the issue's (D2).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_engine import WORKFLOWS, _engine, _free_port, _stop, _wait_healthy

TARGETS = {"per_node_overhead_us": 150.0, "worker_cold_start_ms": 150.0}


async def _median_run(workflow: str, runs: int) -> tuple[float, int]:
    from tentacular.engine._startup import boot

    engine, _ = boot(WORKFLOWS / workflow, cluster_secrets=None)
    for _ in range(min(runs, 100)):
        await engine.run({})
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await engine.run({})
        durations.append(time.perf_counter() - started)
    assert result.success, result.errors
    return statistics.median(durations), len(engine.revision.dag.nodes)


def per_node(workflow: str, runs: int) -> dict[str, Any]:
    python, nodes = asyncio.run(_median_run(workflow, runs))
    typescript, _ = asyncio.run(_median_run(f"{workflow}-ts", runs))
    return {
        f"{workflow}_py_run_us": round(python * 1e6, 1),
        f"{workflow}_ts_run_us": round(typescript * 1e6, 1),
        f"{workflow}_per_node_overhead_us": round((typescript - python) * 1e6 / nodes, 1),
    }


def worker_cold_start(runs: int = 10) -> dict[str, Any]:
    """Spawn to ``ready`` of one worker with the contract's flags, and the load of three nodes."""
    from tentacular.engine._deno.runtime import DenoRuntime

    starts, loads = [], []
    nodes_dir = (WORKFLOWS / "trivial3-ts" / "nodes").resolve()
    for _ in range(runs + 1):
        runtime = DenoRuntime()
        began = time.perf_counter()
        runtime.prepare(nodes_dir)
        for node in ("a", "b", "c"):
            runtime.load(node, nodes_dir / f"{node}.ts", nodes_dir)
        loads.append((time.perf_counter() - began) * 1000)
        generation = runtime.generation
        assert generation is not None and generation.client is not None
        starts.append((generation.client.cold_start or 0) * 1000)
        runtime.close()
    starts, loads = starts[1:], loads[1:]  # the first run warms the page cache
    return {
        "worker_cold_start_ms": round(statistics.median(starts), 1),
        "worker_start_and_load3_ms": round(statistics.median(loads), 1),
    }


def rss(workflow: str) -> dict[str, Any]:
    """Engine plus its Deno worker (a grandchild through the spawner), after 200 runs."""
    port = _free_port()
    proc = _engine(workflow, port)
    try:
        _wait_healthy(port)
        import httpx

        with httpx.Client() as client:
            for _ in range(200):
                client.post(f"http://127.0.0.1:{port}/run", json={})
        total = _tree_rss(proc.pid)
    finally:
        _stop(proc)
    return {f"rss_{workflow}_mib": round(total, 1)}


def _tree_rss(pid: int) -> float:
    """RSS of the process and all its descendants (spawner, Deno worker)."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        total += _own_rss(current)
        children = Path(f"/proc/{current}/task/{current}/children")
        if children.exists():
            pending += [int(p) for p in children.read_text().split()]
    return total


def _own_rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(results_dir: Path) -> None:
    figures: dict[str, Any] = {}
    figures.update(per_node("trivial3", 2000))
    figures.update(per_node("wide", 300))
    figures.update(worker_cold_start())
    figures.update(rss("trivial3"))
    figures.update(rss("trivial3-ts"))
    figures["targets"] = TARGETS
    (results_dir / "typescript.json").write_text(json.dumps(figures, indent=2) + "\n")
    rows = ["| figure | measured | target |", "|---|---|---|"]
    for key in ("trivial3_per_node_overhead_us", "wide_per_node_overhead_us"):
        rows.append(f"| {key} | {figures[key]} | ≤ {TARGETS['per_node_overhead_us']} |")
    rows.append(
        f"| worker_cold_start_ms | {figures['worker_cold_start_ms']} | ≤ {TARGETS['worker_cold_start_ms']} |"
    )
    for key in ("worker_start_and_load3_ms", "rss_trivial3_mib", "rss_trivial3-ts_mib"):
        rows.append(f"| {key} | {figures[key]} | |")
    for key in ("trivial3_py_run_us", "trivial3_ts_run_us", "wide_py_run_us", "wide_ts_run_us"):
        rows.append(f"| {key} | {figures[key]} | |")
    text = "\n".join(rows) + "\n"
    (results_dir / "typescript.md").write_text(text)
    print(text)
