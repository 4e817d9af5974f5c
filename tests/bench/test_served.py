"""The callgrind drivers' request feeder (``benchmarks._served``) serves real runs: every request gets
a response and the engine counts each as a successful run (no timing is asserted)."""

from __future__ import annotations

import asyncio

from benchmarks import _served
from benchmarks.bench_engine import WORKFLOWS

from tentacular.engine._startup import boot
from tentacular.engine._telemetry._metrics import RUNS


def test_each_request_fed_is_one_successful_run() -> None:
    engine, _ = boot(WORKFLOWS / "trivial3", cluster_secrets=None)
    writes = asyncio.run(_served.serve_runs(engine, 5))
    runs = engine.services.telemetry.metrics.value(RUNS, ("trivial3", "success", "manual"))
    assert writes >= _served.WARM_UP + 5
    assert runs == _served.WARM_UP + 5
