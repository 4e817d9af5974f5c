"""Engine figures against the original Deno engine's: throughput, cold start, RSS, makespan, per-node cost.

Load comes from ``wrk`` (Debian package; installed with apt-get when we are root and
it is missing, otherwise the throughput rows are reported as skipped). wrk shares
the 2 cores with the server, so every throughput figure includes that contention.

The engine serves deployed copies of the workflows (``workflow.compiled.json`` beside
workflow.yaml), as a pod does, so RSS and cold start are a pod's; the cold start is also
measured from workflow.yaml alone (``cold_start_validating_ms``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._deployed import deployed_copy
from benchmarks._load import generator_name, measure

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = Path(__file__).resolve().parent / "workflows"
TARGETS = {
    "throughput_c1": 6800.0,
    "throughput_c8": 20700.0,
    "throughput_c32": 19300.0,
    "cold_start_ms": 77.0,
    "rss_idle_mib": 47.0,
    "rss_loaded_mib": 66.0,
    "makespan_ratio": 1.02,
    "per_node_us": 9.0,
}
LOAD_SECONDS = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _engine(workflow: str | Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "tentacular.engine", "--workflow", str(WORKFLOWS / workflow)]
    argv += ["--host", "127.0.0.1", "--port", str(port), *extra]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)


def _health_ok(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def _wait_healthy(port: int, limit: float = 20.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        if _health_ok(port):
            return time.perf_counter() - started
        time.sleep(0.001)
    raise RuntimeError("engine did not become healthy")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _rss_mib(pid: int) -> float:
    """RSS of the process and its children (workers), from /proc."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def _floor(port: int, *extra: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "benchmarks._floor", str(port), *extra]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)


def serve_and_load(
    start: Any, connections: tuple[int, ...] = (1, 8, 32), seconds: float = LOAD_SECONDS
) -> dict[str, Any]:
    """Start a server with ``start(port)``, load POST /run at each concurrency, report rps/p50/p99 and RSS."""
    port = _free_port()
    proc = start(port)
    figures: dict[str, Any] = {}
    try:
        _wait_healthy(port)
        time.sleep(0.3)
        figures["rss_idle_mib"] = round(_rss_mib(proc.pid), 1)
        measure(port, 8, min(1.0, seconds))  # warm-up
        for count in connections:
            figures[f"c{count}"] = measure(port, count, seconds).as_dict()
        figures["rss_loaded_mib"] = round(_rss_mib(proc.pid), 1)
    finally:
        _stop(proc)
    return figures


def cold_start(runs: int = 10) -> dict[str, Any]:
    """Spawn → first 200 on /health: as a pod starts (the compiled form ``tntc deploy`` ships
    beside workflow.yaml) and from workflow.yaml alone (validated at start), alternated."""
    samples: dict[str, list[float]] = {"deployed": [], "validating": []}
    with tempfile.TemporaryDirectory() as scratch:
        sources = {
            "deployed": deployed_copy(WORKFLOWS / "trivial3", Path(scratch)),
            "validating": WORKFLOWS / "trivial3",
        }
        for index in range(runs + 1):
            for kind, source in sources.items():
                port = _free_port()
                started = time.perf_counter()
                proc = _engine(source, port)
                try:
                    _wait_healthy(port)
                    if index:  # the first round warms the page cache
                        samples[kind].append((time.perf_counter() - started) * 1000)
                finally:
                    _stop(proc)
    return {
        "cold_start_ms": round(statistics.median(samples["deployed"]), 1),
        "cold_start_min_ms": round(min(samples["deployed"]), 1),
        "cold_start_validating_ms": round(statistics.median(samples["validating"]), 1),
        "cold_start_validating_min_ms": round(min(samples["validating"]), 1),
    }


async def _in_process(workflow: str, runs: int) -> tuple[float, int, Any]:
    from tentacular.engine._startup import boot

    engine, _ = boot(WORKFLOWS / workflow, cluster_secrets=None)
    for _ in range(min(runs, 50)):
        await engine.run({})
    durations = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = await engine.run({})
        durations.append(time.perf_counter() - started)
    return statistics.median(durations), len(engine.revision.dag.nodes), result


def executor_figures(wide_runs: int = 3000) -> dict[str, Any]:
    makespan, _, result = asyncio.run(_in_process("skewed-dag", 15 if wide_runs >= 100 else 2))
    assert result is not None and result.success
    critical = 0.200  # a → b (200 ms) → f; the c→d→e branch sleeps 60 ms
    wide, nodes, _ = asyncio.run(_in_process("wide", wide_runs))
    return {
        "makespan_ms": round(makespan * 1000, 1),
        "critical_path_ms": critical * 1000,
        "makespan_ratio": round(makespan / critical, 4),
        "wide_run_us": round(wide * 1e6, 1),
        "per_node_us": round(wide * 1e6 / nodes, 2),
    }


def _flatten(figures: dict[str, Any], prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in figures.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[f"{prefix}{key}"] = float(value)
    return flat


def ratios(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, float]:
    """current / previous for every numeric figure both runs have (targets excluded)."""
    now, before = _flatten(current), _flatten(previous)
    return {
        key: round(value / before[key], 3)
        for key, value in now.items()
        if key in before and before[key] and not key.startswith("targets.")
    }


def _table(figures: dict[str, Any], against: dict[str, float]) -> str:
    rows = ["| figure | measured | previous run ratio |", "|---|---|---|"]
    for key, value in _flatten(figures).items():
        if key.startswith("targets.") or key == "cpu_count":
            continue
        ratio = against.get(key)
        rows.append(f"| {key} | {value:g} | {'' if ratio is None else f'{ratio:.3f}×'} |")
    return "\n".join(rows) + "\n"


def collect(*, seconds: float = LOAD_SECONDS, cold_runs: int = 10, wide_runs: int = 3000) -> dict[str, Any]:
    load_avg = os.getloadavg()
    figures: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "load_generator": generator_name(),
        "load_average_1m_at_start": round(load_avg[0], 2),
        "load_seconds_per_point": seconds,
    }
    figures.update(executor_figures(wide_runs))
    figures.update(cold_start(cold_runs))
    floor = serve_and_load(_floor, seconds=seconds)
    floor_uvicorn = serve_and_load(lambda port: _floor(port, "--uvicorn"), seconds=seconds)
    with tempfile.TemporaryDirectory() as scratch:  # served as pods serve: from the compiled form
        deployed = {name: deployed_copy(WORKFLOWS / name, Path(scratch)) for name in ("trivial3", "wide")}
        engine = {
            name: serve_and_load(lambda port, d=directory: _engine(d, port), seconds=seconds)
            for name, directory in deployed.items()
        }
        workers_2 = serve_and_load(
            lambda port: _engine(deployed["trivial3"], port, "--workers", "2"), (8, 32), seconds
        )
    figures["floor"] = floor
    figures["floor_uvicorn"] = floor_uvicorn
    figures["trivial3"] = engine["trivial3"]
    figures["wide"] = engine["wide"]
    figures["trivial3_workers_2"] = workers_2
    figures["trivial3_vs_floor"] = {
        f"c{n}_rps": round(engine["trivial3"][f"c{n}"]["rps"] / floor[f"c{n}"]["rps"], 3) for n in (1, 8, 32)
    }
    figures["targets"] = TARGETS
    return figures


def main(results_dir: Path) -> None:
    path = results_dir / "engine.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    figures = collect(seconds=float(os.environ.get("TNTC_BENCH_SECONDS", LOAD_SECONDS)))
    against = ratios(figures, previous)
    print(f"load generator: {figures['load_generator']}")
    if not previous:
        print("no previous engine.json: no ratios this time")
    path.write_text(json.dumps(figures, indent=2) + "\n")
    text = _table(figures, against)
    (results_dir / "engine.md").write_text(text)
    print(text)
