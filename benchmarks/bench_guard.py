"""Cost of the runtime permission guard (D4): /run latency and throughput with and without it.

Two workflows through the real engine (`python -m tentacular.engine`, one worker):
``trivial3`` (three pure-compute nodes, empty contract) and ``loopback10`` (one node making
ten sequential ``ctx.dependency("local").fetch`` calls to a local HTTP server declared in
the contract as 127.0.0.1:<port>). Each configuration runs five rounds, alternating guard
on and ``--no-guard``; the figures are the medians of the rounds. Latency: sequential requests over one
keep-alive connection. Throughput: ``wrk`` with 8 connections when installed, else an
asyncio client. Target: overhead ≤ 5 %.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
TRIVIAL3 = Path(__file__).resolve().parent / "workflows" / "trivial3"
TARGET_OVERHEAD_PCT = 5.0
ROUNDS = 5
LATENCY_RUNS = {"trivial3": 400, "loopback10": 150}
WARMUP_RUNS = 30
LOAD_SECONDS = 2
CONNECTIONS = 8
POST_LUA = 'wrk.method = "POST"\nwrk.body = "{}"\nwrk.headers["Content-Type"] = "application/json"\n'

# A keep-alive HTTP/1.1 responder in its own process, so it does not share the GIL with anything.
LOOPBACK_SERVER = r"""
import asyncio, sys
BODY = b'{"ok":true}'
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n" + BODY
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if not head:
                break
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""

LOOPBACK_NODE = """
async def run(ctx, input):
    local = ctx.dependency("local")
    total = 0
    for _ in range(10):
        response = await local.fetch("/ping")
        total += len(response.content)
    return {"bytes": total}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _loopback_workflow(directory: Path, port: int) -> Path:
    (directory / "nodes").mkdir(parents=True)
    (directory / "nodes" / "calls.py").write_text(LOOPBACK_NODE)
    (directory / "workflow.yaml").write_text(
        "name: loopback10\nversion: '1.0'\ntriggers: [{type: manual}]\n"
        "nodes:\n  calls: {path: ./nodes/calls.py}\nedges: []\n"
        "config: {timeout: 10s, retries: 0}\n"
        "contract:\n  version: '1'\n  dependencies:\n"
        f"    local: {{protocol: http, host: 127.0.0.1, port: {port}}}\n"
    )
    return directory


class _Engine:
    def __init__(self, workflow: Path, guarded: bool) -> None:
        self.port = _free_port()
        argv = [sys.executable, "-m", "tentacular.engine", "--workflow", str(workflow)]
        argv += ["--host", "127.0.0.1", "--port", str(self.port), "--grace-period", "1"]
        if not guarded:
            argv.append("--no-guard")
        self.process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30, trust_env=False)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.client.get("/health").status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"engine for {workflow} did not start")

    def run_once(self) -> None:
        result = self.client.post("/run", json={}).json()
        if not result.get("success"):
            raise RuntimeError(f"benchmark run failed: {result.get('errors')}")

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(timeout=10)


def _latency(engine: _Engine, runs: int) -> dict[str, float]:
    for _ in range(WARMUP_RUNS):
        engine.run_once()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        engine.run_once()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "medianMs": round(statistics.median(samples), 3),
        "p95Ms": round(samples[int(len(samples) * 0.95) - 1], 3),
    }


def _throughput(port: int) -> float:
    wrk = shutil.which("wrk")
    if wrk is not None:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(POST_LUA)
        argv = [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{LOAD_SECONDS}s", "-s", script.name]
        out = subprocess.run(
            [*argv, f"http://127.0.0.1:{port}/run"], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        Path(script.name).unlink()
        match = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if match is None:
            raise RuntimeError(f"unexpected wrk output:\n{out}")
        return float(match.group(1))
    return asyncio.run(_python_load(port))


async def _python_load(port: int) -> float:
    done = 0
    deadline = time.perf_counter() + LOAD_SECONDS
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                await client.post("/run", json={})
                done += 1

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return done / LOAD_SECONDS


def _measure(workflow: Path, name: str, guarded: bool) -> dict[str, float]:
    engine = _Engine(workflow, guarded)
    try:
        figures = _latency(engine, LATENCY_RUNS[name])
        figures["runsPerSecond"] = round(_throughput(engine.port), 1)
        return figures
    finally:
        engine.stop()


def _middle(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(r[key] for r in rounds), 3) for key in rounds[0]}


def _spread(values: list[float]) -> float:
    return round((max(values) - min(values)) / statistics.median(values) * 100, 1)


def _overhead(guarded: dict[str, float], unguarded: dict[str, float]) -> dict[str, float]:
    return {
        "latencyPct": round((guarded["medianMs"] / unguarded["medianMs"] - 1) * 100, 1),
        "throughputPct": round((1 - guarded["runsPerSecond"] / unguarded["runsPerSecond"]) * 100, 1),
    }


MICRO = r"""
import os, socket, sys, tempfile, time
from tentacular.spec._policy import HostGrant, RuntimePolicy
from tentacular.engine._guard import RuntimeGuard
scratch = tempfile.mkdtemp()
tmp_file = os.path.join(scratch, "f.txt")
open(tmp_file, "w").close()
installed_file = os.__file__
if sys.argv[1] == "on":
    grant = HostGrant("localhost", 80, "TCP", "x")
    RuntimeGuard(RuntimePolicy(network_restricted=True, hosts=(grant,))).install()
def per_call(action, n=3000):
    action()
    started = time.perf_counter()
    for _ in range(n):
        action()
    return (time.perf_counter() - started) / n * 1e6
print(per_call(lambda: open(installed_file, "rb").close()),
      per_call(lambda: open(tmp_file, "rb").close()),
      per_call(lambda: socket.getaddrinfo("localhost", 80)),
      per_call(lambda: id(0), 200000))
"""
MICRO_LABELS = (
    "open a stdlib file",
    "open a file in /tmp",
    "getaddrinfo(localhost)",
    "any other audit event",
)


def _micro() -> dict[str, dict[str, float]]:
    """Per-call cost of the checks where they happen, in a child process each (the hook is permanent)."""
    rows: dict[str, dict[str, float]] = {label: {} for label in MICRO_LABELS}
    for mode in ("off", "on"):
        runs = []
        for _ in range(3):
            out = subprocess.run(
                [sys.executable, "-c", MICRO, mode], capture_output=True, text=True, check=True, cwd=ROOT
            )
            runs.append([float(v) for v in out.stdout.split()])
        for index, label in enumerate(MICRO_LABELS):
            rows[label][mode] = round(statistics.median(r[index] for r in runs), 2)
    return rows


def main(results_dir: Path) -> None:
    server_port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", LOOPBACK_SERVER, str(server_port)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    server.stdout.readline()
    figures: dict[str, Any] = {
        "targetOverheadPct": TARGET_OVERHEAD_PCT,
        "loadGenerator": f"wrk -t1 -c{CONNECTIONS}" if shutil.which("wrk") else "asyncio httpx client",
        "rounds": ROUNDS,
    }
    try:
        with tempfile.TemporaryDirectory() as scratch:
            workflows = {
                "trivial3": TRIVIAL3,
                "loopback10": _loopback_workflow(Path(scratch) / "lb", server_port),
            }
            for name, workflow in workflows.items():
                samples: dict[bool, list[dict[str, float]]] = {True: [], False: []}
                for round_index in range(ROUNDS):
                    # Alternate which mode goes first so start order cannot favour either.
                    for guarded in (False, True) if round_index % 2 == 0 else (True, False):
                        samples[guarded].append(_measure(workflow, name, guarded))
                guarded_mid, unguarded_mid = _middle(samples[True]), _middle(samples[False])
                overhead = _overhead(guarded_mid, unguarded_mid)
                figures[name] = {
                    "guard": guarded_mid,
                    "noGuard": unguarded_mid,
                    "overhead": overhead,
                    # Round-to-round spread of each mode's throughput: the noise floor of this machine.
                    "spreadPct": {
                        "guard": _spread([r["runsPerSecond"] for r in samples[True]]),
                        "noGuard": _spread([r["runsPerSecond"] for r in samples[False]]),
                    },
                    "rounds": {"guard": samples[True], "noGuard": samples[False]},
                    "met": max(overhead.values()) <= TARGET_OVERHEAD_PCT,
                }
    finally:
        server.terminate()
        server.wait(timeout=10)
    figures["perCallMicroseconds"] = _micro()
    (results_dir / "guard.json").write_text(json.dumps(figures, indent=2) + "\n")
    lines = [
        "| workflow | guard | median ms | p95 ms | runs/s | latency overhead | throughput overhead "
        "| ≤ 5 % | runs/s spread over rounds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ("trivial3", "loopback10"):
        entry = figures[name]
        for label, key in (("off", "noGuard"), ("on", "guard")):
            f = entry[key]
            cells = f"| {name} | {label} | {f['medianMs']} | {f['p95Ms']} | {f['runsPerSecond']} |"
            if key == "guard":
                o, met = entry["overhead"], "yes" if entry["met"] else "no"
                cells += f" {o['latencyPct']} % | {o['throughputPct']} % | {met} |"
            else:
                cells += " | | |"
            lines.append(cells + f" {entry['spreadPct'][key]} % |")
    lines += ["", "| operation (µs per call) | guard off | guard on |", "|---|---|---|"]
    for label, cost in figures["perCallMicroseconds"].items():
        lines.append(f"| {label} | {cost['off']} | {cost['on']} |")
    (results_dir / "guard.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    output = ROOT / "benchmarks" / "results"
    output.mkdir(exist_ok=True)
    main(output)
