"""Engine figures against the original Deno engine's: throughput, cold start, RSS, makespan, per-node cost.

Load comes from ``wrk`` (Debian package; installed with apt-get when we are root and
it is missing, otherwise the throughput rows are reported as skipped). wrk shares
the 2 cores with the server, so every throughput figure includes that contention.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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
LOAD_SECONDS = 5
POST_LUA = 'wrk.method = "POST"\nwrk.body = "{}"\nwrk.headers["Content-Type"] = "application/json"\n'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _engine(workflow: str, port: int, *extra: str) -> subprocess.Popen[bytes]:
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


def _wrk() -> str | None:
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    try:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], timeout=180, check=False, **quiet)  # type: ignore[call-overload]
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update", "-qq"], timeout=180, check=False, **quiet)  # type: ignore[call-overload]
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], timeout=180, check=False, **quiet)  # type: ignore[call-overload]
    except (OSError, subprocess.TimeoutExpired):
        return None
    return shutil.which("wrk")


def _load(wrk: str, port: int, connections: int, seconds: int, script: Path) -> float:
    out = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), f"http://127.0.0.1:{port}/run"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if match is None or non_2xx is not None:
        raise RuntimeError(f"wrk run failed:\n{out}")
    return float(match.group(1))


def throughput_and_rss(results_dir: Path, workers: int) -> dict[str, Any]:
    wrk = _wrk()
    port = _free_port()
    proc = _engine("trivial3", port, "--workers", str(workers))
    figures: dict[str, Any] = {}
    try:
        _wait_healthy(port)
        time.sleep(0.5)
        figures["rss_idle_mib"] = round(_rss_mib(proc.pid), 1)
        if wrk is None:
            figures["throughput"] = "skipped: wrk not available (apt-get install wrk)"
            return figures
        script = results_dir / "post.lua"
        script.write_text(POST_LUA)
        _load(wrk, port, 8, 1, script)  # warm-up
        for connections in (1, 8, 32):
            figures[f"throughput_c{connections}"] = round(_load(wrk, port, connections, LOAD_SECONDS, script))
        figures["rss_loaded_mib"] = round(_rss_mib(proc.pid), 1)  # after 15 s+ of load
        script.unlink()
    finally:
        _stop(proc)
    return figures


def cold_start(runs: int = 10) -> dict[str, Any]:
    samples = []
    for _ in range(runs + 1):
        port = _free_port()
        started = time.perf_counter()
        proc = _engine("trivial3", port)
        try:
            _wait_healthy(port)
            samples.append((time.perf_counter() - started) * 1000)
        finally:
            _stop(proc)
    samples = samples[1:]  # the first run warms the page cache
    return {
        "cold_start_ms": round(statistics.median(samples), 1),
        "cold_start_min_ms": round(min(samples), 1),
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


def executor_figures() -> dict[str, Any]:
    makespan, _, result = asyncio.run(_in_process("skewed-dag", 15))
    assert result is not None and result.success
    critical = 0.200  # a → b (200 ms) → f; the c→d→e branch sleeps 60 ms
    wide, nodes, _ = asyncio.run(_in_process("wide", 3000))
    return {
        "makespan_ms": round(makespan * 1000, 1),
        "critical_path_ms": critical * 1000,
        "makespan_ratio": round(makespan / critical, 4),
        "wide_run_us": round(wide * 1e6, 1),
        "per_node_us": round(wide * 1e6 / nodes, 2),
    }


def _met(key: str, value: Any) -> str:
    if not isinstance(value, int | float):
        return "n/a"
    higher_is_better = key.startswith("throughput")
    ok = value >= TARGETS[key] if higher_is_better else value <= TARGETS[key]
    return "yes" if ok else "no"


def main(results_dir: Path) -> None:
    figures: dict[str, Any] = {"cpu_count": os.cpu_count(), "load_generator": "wrk -t1 on the same 2 cores"}
    figures.update(executor_figures())
    figures.update(cold_start())
    figures["workers_1"] = throughput_and_rss(results_dir, 1)
    figures["workers_2"] = throughput_and_rss(results_dir, 2)
    figures["targets"] = TARGETS
    (results_dir / "engine.json").write_text(json.dumps(figures, indent=2) + "\n")
    rows = ["| figure | measured | target (Deno original) | met |", "|---|---|---|---|"]
    for key in ("makespan_ratio", "per_node_us", "cold_start_ms"):
        sign = "≤"
        rows.append(f"| {key} | {figures[key]} | {sign} {TARGETS[key]} | {_met(key, figures[key])} |")
    for mode in ("workers_1", "workers_2"):
        for key in ("throughput_c1", "throughput_c8", "throughput_c32", "rss_idle_mib", "rss_loaded_mib"):
            value = figures[mode].get(key, figures[mode].get("throughput", "n/a"))
            sign = "≥" if key.startswith("throughput") else "≤"
            rows.append(
                f"| {key} ({mode.replace('_', '=')}) | {value} | {sign} {TARGETS[key]} | {_met(key, value)} |"
            )
    text = "\n".join(rows) + "\n"
    (results_dir / "engine.md").write_text(text)
    print(text)
