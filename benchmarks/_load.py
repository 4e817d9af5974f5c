"""Load generators: ``wrk`` when installed, otherwise an in-process asyncio client.

Both report requests/s and p50/p99 latency in milliseconds for POST /run with keep-alive
connections. The asyncio fallback is itself Python on the same 2 cores, so its figures are
lower than wrk's and only comparable with other runs of the fallback; the results say which
generator was used.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

POST_LUA = 'wrk.method = "POST"\nwrk.body = "{}"\nwrk.headers["Content-Type"] = "application/json"\n'
REQUEST = (
    b"POST /run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
)


@dataclass(frozen=True)
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float

    def as_dict(self) -> dict[str, float]:
        return {
            "rps": round(self.requests_per_s),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
        }


def generator_name() -> str:
    return "wrk -t1" if shutil.which("wrk") else "asyncio fallback (wrk not installed: apt-get install wrk)"


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _latency_ms(text: str, percentile: str) -> float:
    match = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no {percentile}% latency:\n{text}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(wrk: str, port: int, connections: int, seconds: float) -> Load:
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "post.lua"
        script.write_text(POST_LUA)
        argv = [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            str(script),
        ]
        out = subprocess.run(
            [*argv, f"http://127.0.0.1:{port}/run"], capture_output=True, text=True, check=True
        ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None or re.search(r"Non-2xx or 3xx responses:\s+\d+", out):
        raise RuntimeError(f"wrk run failed:\n{out}")
    return Load(float(rate.group(1)), _latency_ms(out, "50"), _latency_ms(out, "99"))


async def _connection(port: int, until: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(REQUEST)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"non-200 response: {head[:80]!r}")
            length = re.search(rb"(?i)content-length:\s*(\d+)", head)
            if length is None:
                raise RuntimeError("response without content-length")
            await reader.readexactly(int(length.group(1)))
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def _asyncio_load(port: int, connections: int, seconds: float) -> Load:
    latencies: list[float] = []
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(_connection(port, until, latencies) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    if not latencies:
        raise RuntimeError("no request completed")
    latencies.sort()

    def pick(fraction: float) -> float:
        return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] * 1000

    return Load(len(latencies) / elapsed, pick(0.50), pick(0.99))


def run_asyncio(port: int, connections: int, seconds: float) -> Load:
    return asyncio.run(_asyncio_load(port, connections, seconds))


def measure(port: int, connections: int, seconds: float) -> Load:
    wrk = shutil.which("wrk")
    return run_wrk(wrk, port, connections, seconds) if wrk else run_asyncio(port, connections, seconds)
