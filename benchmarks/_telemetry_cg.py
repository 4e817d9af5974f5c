"""Tracing's cost in instructions (``valgrind --tool=callgrind``), which the machine's load does not change.

Per in-process trivial3 run = (I(1480 runs) - I(200 runs)) / 1280, so start-up cancels out; the
export thread and the final flush are counted (threads included). Two ways:

* ``threaded``: the exporter as it runs (its thread wakes every second of wall time or at a full
  batch). valgrind stretches wall time ~50-fold, so the thread wakes far more often per run than
  it would natively and counts vary by a few per cent from one measurement to the next;
* ``batched``: the thread never wakes; each full batch is sent from the run loop. The same work
  (encoding, HTTP, garbage collection of what waits in the queue) and counts repeat within ~1 %.

Per ``POST /run`` (a run as a deployed engine serves it) = (I(600) - I(100)) / 500: the engine's
own HTTP protocol in process, guard and kernel layer on, fed keep-alive requests through a stub
transport (as ``bench_layers`` does), the exporter ``batched``, its final flush to the receiver
counted.

Both freeze the start-up objects (``gc.freeze()``) after boot, as the server does before serving.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from benchmarks._callgrind import count_instructions

N1, N2 = 200, 1480
HTTP_N1, HTTP_N2 = 100, 600
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


HTTP_DRIVER = r"""
import asyncio, gc, sys
from benchmarks._served import serve_runs
from benchmarks.bench_engine import WORKFLOWS
from tentacular.engine._guard import guard_for
from tentacular.engine._logs import LogSink
from tentacular.engine._startup import boot
import tentacular.engine._core as core
core.watch_loop = lambda *args, **kwargs: None  # driven by wall time, which valgrind stretches

count, mode, url = int(sys.argv[1]), sys.argv[2], sys.argv[3]
log = LogSink(stream=open("/dev/null", "w"))
telemetry = None
if mode != "off":
    from tentacular.engine._telemetry import Observability, _export
    from tentacular.spec import load_workflow
    _export.EXPORT_BATCH = _export.MAX_QUEUE = 10**9  # no wake-up, no drops: one flush at the end
    _export.SCHEDULE_DELAY = 10**6
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_METRICS_EXPORTER": "none"}
    telemetry = Observability.create(load_workflow(WORKFLOWS / "trivial3").workflow, env=env)
guard = guard_for(enabled=True, log=log)
engine, _ = boot(
    WORKFLOWS / "trivial3", log=log, install_guard=guard, cluster_secrets=None, telemetry=telemetry
)
gc.freeze()
writes = asyncio.run(serve_runs(engine, count))
assert writes >= count, writes
if telemetry is not None:
    telemetry.shutdown()
"""


def _instructions(driver: str, count: int, mode: str, url: str) -> int:
    env = dict(os.environ, PYTHONHASHSEED="0")  # set and dict orders repeat from run to run
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    return count_instructions(driver, [str(count), mode, url], env=env)


def per_run(mode: str, url: str) -> float:
    """Instructions per trivial3 run: ``off``, ``threaded`` or ``batched`` (tracing on)."""
    return (_instructions(DRIVER, N2, mode, url) - _instructions(DRIVER, N1, mode, url)) / (N2 - N1)


def per_request(mode: str, url: str) -> float:
    """Instructions per trivial3 ``POST /run``: ``off`` or ``batched`` (tracing on)."""
    high = _instructions(HTTP_DRIVER, HTTP_N2, mode, url)
    return (high - _instructions(HTTP_DRIVER, HTTP_N1, mode, url)) / (HTTP_N2 - HTTP_N1)


def figures(url: str) -> dict[str, float]:
    """Thousands of instructions per run and per request, off and on, and the overheads (empty
    without valgrind)."""
    if shutil.which("valgrind") is None:
        return {}
    off = per_run("off", url)
    out = {"kinstr_tracing_off": round(off / 1000, 1)}
    for mode in ("threaded", "batched"):
        on = per_run(mode, url)
        out[f"kinstr_tracing_on_{mode}"] = round(on / 1000, 1)
        out[f"kinstr_overhead_pct_{mode}"] = round((on / off - 1) * 100, 1)
    off, on = per_request("off", url), per_request("batched", url)
    out["kinstr_request_tracing_off"] = round(off / 1000, 1)
    out["kinstr_request_tracing_on"] = round(on / 1000, 1)
    out["kinstr_request_overhead_pct"] = round((on / off - 1) * 100, 1)
    return out
