"""`tntc mcp`: start to first tool list (target ≤ 300 ms), and a `validate` tool call vs the CLI.

Start-up: a fresh `tntc mcp` over stdio per sample, timed from spawn until the `tools/list`
answer arrives (initialize + initialized + tools/list, written as raw JSON-RPC lines so the
client's own import time is not counted). Per call: alternating rounds on one warm server,
`validate` through the server vs `tntc validate -o json` as a new process (what an agent
shelling out pays). Medians; compare the two numbers of one run, not runs with each other.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
TNTC = str(Path(sys.executable).with_name("tntc"))
WORKFLOW = "example-workflows/hn-digest"
STARTS = 10
CALLS = 15
TARGET_MS = 300.0
PROTOCOL = "2025-06-18"


def _send(stream: IO[str], message: dict[str, Any]) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


def _answer(stream: IO[str], request_id: int) -> dict[str, Any]:
    while True:
        line = stream.readline()
        if not line:
            raise RuntimeError("tntc mcp closed its output")
        message = json.loads(line)
        if message.get("id") == request_id:
            return dict(message)


def _spawn() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [TNTC, "mcp"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )


def _handshake(process: subprocess.Popen[str]) -> int:
    assert process.stdin is not None and process.stdout is not None
    _send(
        process.stdin,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "0"},
            },
        },
    )
    _answer(process.stdout, 1)
    _send(process.stdin, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    _send(process.stdin, {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})
    return len(_answer(process.stdout, 2)["result"]["tools"])


def _start_to_tools() -> float:
    started = time.perf_counter()
    process = _spawn()
    try:
        _handshake(process)
        return (time.perf_counter() - started) * 1000
    finally:
        process.kill()
        process.wait()


def _sdk_import() -> float:
    """A bare interpreter importing what the server needs of the SDK (the bulk of the start-up)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import mcp.server.lowlevel, mcp.server.stdio"], check=True)
    return (time.perf_counter() - started) * 1000


def _tool_call(process: subprocess.Popen[str], request_id: int) -> float:
    assert process.stdin is not None and process.stdout is not None
    started = time.perf_counter()
    _send(
        process.stdin,
        {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "tools/call",
            "params": {"name": "validate", "arguments": {"directory": WORKFLOW}},
        },
    )
    answer = _answer(process.stdout, request_id)
    assert answer["result"]["structuredContent"]["status"] == "pass", answer
    return (time.perf_counter() - started) * 1000


def _cli_call() -> float:
    started = time.perf_counter()
    subprocess.run(
        [TNTC, "validate", WORKFLOW, "-o", "json"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL
    )
    return (time.perf_counter() - started) * 1000


def main(results_dir: Path) -> None:
    _start_to_tools()  # warm the page cache
    starts: list[float] = []
    imports: list[float] = []
    for _ in range(STARTS):  # alternate so load drifts hit both alike
        starts.append(_start_to_tools())
        imports.append(_sdk_import())
    server = _spawn()
    try:
        tools = _handshake(server)
        _tool_call(server, 100)
        _cli_call()
        via_mcp: list[float] = []
        via_cli: list[float] = []
        for index in range(CALLS):  # alternate so load drifts hit both alike
            via_mcp.append(_tool_call(server, 101 + index))
            via_cli.append(_cli_call())
    finally:
        server.kill()
        server.wait()
    start_median = statistics.median(starts)
    figures = {
        "startToToolListMs": {
            "median": round(start_median, 1),
            "min": round(min(starts), 1),
            "max": round(max(starts), 1),
            "runs": STARTS,
            "tools": tools,
            "targetMs": TARGET_MS,
            "met": start_median <= TARGET_MS,
        },
        "sdkImportMs": {"median": round(statistics.median(imports), 1), "runs": STARTS},
        "validateToolCallMs": {"median": round(statistics.median(via_mcp), 1), "runs": CALLS},
        "validateCliProcessMs": {"median": round(statistics.median(via_cli), 1), "runs": CALLS},
    }
    figures["validateToolCallMs"]["vsCli"] = round(statistics.median(via_mcp) / statistics.median(via_cli), 3)
    (results_dir / "mcp.json").write_text(json.dumps(figures, indent=2) + "\n")
    s, m, c = figures["startToToolListMs"], figures["validateToolCallMs"], figures["validateCliProcessMs"]
    lines = [
        "| measure | median ms | notes |",
        "|---|---|---|",
        f"| `tntc mcp` start → first tools/list | {s['median']} | min {s['min']}, max {s['max']}, "
        f"{s['tools']} tools; target ≤ {TARGET_MS:.0f}: {'met' if s['met'] else 'not met'} |",
        f"| `python -c 'import mcp.server.lowlevel'` | {figures['sdkImportMs']['median']} | "
        "a bare interpreter importing the SDK; start-up is dominated by it |",
        f"| `validate` tool call (warm server) | {m['median']} | {m['vsCli']}× the CLI process |",
        f"| `tntc validate -o json` (new process) | {c['median']} | what shelling out costs |",
    ]
    (results_dir / "mcp.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
