"""Tracing's cost in instructions (``valgrind --tool=callgrind``), which the machine's load does not change.

Per in-process trivial3 run = (I(1480 runs) - I(200 runs)) / 1280, so start-up cancels out; the
export thread and the final flush are counted (threads included). Two ways:

* ``threaded``: the exporter as it runs (its thread wakes every second of wall time or at a full
  batch). valgrind stretches wall time ~50-fold, so the thread wakes far more often per run than
  it would natively and counts vary by a few per cent from one measurement to the next;
* ``batched``: the thread never wakes; each full batch is sent from the run loop. The same work
  (encoding, HTTP, garbage collection of what waits in the queue) and counts repeat within ~1 %.

Both freeze the start-up objects (``gc.freeze()``) after boot, as the server does before serving.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from benchmarks._callgrind import count_instructions

N1, N2 = 200, 1480
ROOT = Path(__file__).resolve().parent.parent

DRIVER = """
import asyncio, os, sys
from benchmarks.bench_engine import WORKFLOWS

async def main(count, mode, url):
    from tentacular.engine._startup import boot
    from tentacular.engine._telemetry import Observability, _export
    from tentacular.spec import load_workflow
    batch = _export.EXPORT_BATCH
    telemetry = None
    if mode != "off":
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": url}
        if mode == "batched":
            _export.EXPORT_BATCH = _export.MAX_QUEUE = 10**9  # no wake-up, no drops
            _export.SCHEDULE_DELAY = 10**6
            env["OTEL_METRICS_EXPORTER"] = "none"
        workflow = load_workflow(WORKFLOWS / "trivial3").workflow
        telemetry = Observability.create(workflow, env=env)
    engine = boot(WORKFLOWS / "trivial3", cluster_secrets=None, telemetry=telemetry)[0]
    import gc
    gc.freeze()  # as the engine's server does before serving; else full collections of the start-up
    # objects land in one count and not the other (+-40 k instructions per run between builds)
    exporter = telemetry.tracing.sink if mode == "batched" else None
    for _ in range(count):
        await engine.run({})
        if exporter is not None and len(exporter._queue) >= batch:
            exporter._export_batch()
    if telemetry is not None:
        await asyncio.to_thread(telemetry.shutdown)

asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
"""


def _instructions(count: int, mode: str, url: str) -> int:
    env = dict(os.environ, PYTHONHASHSEED="0")  # set and dict orders repeat from run to run
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    return count_instructions(DRIVER, [str(count), mode, url], env=env)


def per_run(mode: str, url: str) -> float:
    """Instructions per trivial3 run: ``off``, ``threaded`` or ``batched`` (tracing on)."""
    return (_instructions(N2, mode, url) - _instructions(N1, mode, url)) / (N2 - N1)


def figures(url: str) -> dict[str, float]:
    """Thousands of instructions per run, off and on both ways, and the overheads (empty without valgrind)."""
    if shutil.which("valgrind") is None:
        return {}
    off = per_run("off", url)
    out = {"kinstr_tracing_off": round(off / 1000, 1)}
    for mode in ("threaded", "batched"):
        on = per_run(mode, url)
        out[f"kinstr_tracing_on_{mode}"] = round(on / 1000, 1)
        out[f"kinstr_overhead_pct_{mode}"] = round((on / off - 1) * 100, 1)
    return out
