"""`tntc mcp`: start to first tool list (target ≤ 300 ms), and a `validate` tool call vs the CLI.

Start-up: a fresh `tntc mcp` over stdio per sample, timed from spawn until the `tools/list`
answer arrives (initialize + initialized + tools/list, written as raw JSON-RPC lines so the
client's own import time is not counted), and on until the first `validate` tool call is
answered (the SDK has loaded by then). "warm" starts find the recording of the SDK's
opening answers (agent/_mcp_replay.py) that an earlier start of the same tntc wrote;
"cold" starts get an empty TENTACULAR_HOME each, so the SDK answers everything. Each is
measured with the sources' bytecode and without it (PYTHONDONTWRITEBYTECODE=1 and no
__pycache__ under src/, which is how this environment runs an editable checkout;
installed packages keep the bytecode pip wrote). Per call: alternating rounds on one warm
server, `validate` through the server vs `tntc validate -o json` as a new process (what an
agent shelling out pays). Medians; compare numbers of one run, not runs with each other.
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
TNTC = str(Path(sys.executable).with_name("tntc"))
WORKFLOW = "example-workflows/hn-digest"
SRC = ROOT / "src"
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


def _spawn(home: Path, *, bytecode: bool = True) -> subprocess.Popen[str]:
    env = {**os.environ, "NO_COLOR": "1", "TENTACULAR_HOME": str(home)}
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.Popen(
        [TNTC, "mcp"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
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


def _start(home: Path, *, bytecode: bool) -> tuple[float, float]:
    """Milliseconds from spawn to the tools/list answer, and to the first tool call's answer."""
    started = time.perf_counter()
    process = _spawn(home, bytecode=bytecode)
    try:
        _handshake(process)
        listed = (time.perf_counter() - started) * 1000
        _tool_call(process, 3)
        return listed, (time.perf_counter() - started) * 1000
    finally:
        process.kill()
        process.wait()


def _drop_source_bytecode() -> None:
    for cache in SRC.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def _starts(scratch: Path, *, bytecode: bool) -> dict[str, list[float]]:
    """Alternating warm and cold starts, so load drifts hit both alike."""
    warm_home = scratch / f"warm-{bytecode}"
    _start(warm_home, bytecode=bytecode)  # records the opening (and warms the page cache)
    samples: dict[str, list[float]] = {"warm": [], "warmCall": [], "cold": [], "coldCall": []}
    for index in range(STARTS):
        listed, called = _start(warm_home, bytecode=bytecode)
        samples["warm"].append(listed)
        samples["warmCall"].append(called)
        listed, called = _start(scratch / f"cold-{bytecode}-{index}", bytecode=bytecode)
        samples["cold"].append(listed)
        samples["coldCall"].append(called)
    return samples


def _import_ms(statement: str) -> float:
    """A bare interpreter running ``statement`` (best of three)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


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


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def main(results_dir: Path) -> None:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="tntc-bench-mcp-") as scratch_dir:
        scratch = Path(scratch_dir)
        _drop_source_bytecode()
        try:
            without = _starts(scratch, bytecode=False)
        finally:
            compileall.compile_dir(str(SRC), quiet=1)
        with_bytecode = _starts(scratch, bytecode=True)
        imports = {
            "python -c pass": _import_ms("pass"),
            "mcp_types (protocol models)": _import_ms("import mcp_types"),
            "mcp_types.methods (both eras)": _import_ms("import mcp_types.methods"),
            "mcp.server.lowlevel + stdio": _import_ms("import mcp.server.lowlevel, mcp.server.stdio"),
            "tentacular.cli.app (Typer tree)": _import_ms("import tentacular.cli.app"),
        }
        server = _spawn(scratch / "warm-True")
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
    load_after = os.getloadavg()
    starts: dict[str, Any] = {}
    for label, samples in (("bytecode", with_bytecode), ("noBytecode", without)):
        starts[label] = {name: _summary(values) for name, values in samples.items()}
    warm = starts["bytecode"]["warm"]["median"]
    figures: dict[str, Any] = {
        "startToToolListMs": {
            **starts,
            "runs": STARTS,
            "tools": tools,
            "targetMs": TARGET_MS,
            "met": max(warm, starts["noBytecode"]["warm"]["median"]) <= TARGET_MS,
        },
        "importMs": {name: round(value, 1) for name, value in imports.items()},
        "validateToolCallMs": {"median": round(statistics.median(via_mcp), 1), "runs": CALLS},
        "validateCliProcessMs": {"median": round(statistics.median(via_cli), 1), "runs": CALLS},
        "loadAverage": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in load_after],
        },
    }
    figures["validateToolCallMs"]["vsCli"] = round(statistics.median(via_mcp) / statistics.median(via_cli), 3)
    (results_dir / "mcp.json").write_text(json.dumps(figures, indent=2) + "\n")
    m, c = figures["validateToolCallMs"], figures["validateCliProcessMs"]
    lines = [
        f"load average (1/5/15 min) before {load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}, "
        f"after {load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f}",
        "",
        "| `tntc mcp` start → | bytecode | no bytecode | notes |",
        "|---|---|---|---|",
    ]
    rows = (
        ("warm", f"first tools/list, warm ({tools} tools)", f"target ≤ {TARGET_MS:.0f}"),
        ("warmCall", "first `validate` answered, warm", "the SDK has loaded"),
        ("cold", "first tools/list, cold (no recording)", "the SDK answers"),
        ("coldCall", "first `validate` answered, cold", ""),
    )
    for key, what, note in rows:
        b, n = starts["bytecode"][key], starts["noBytecode"][key]
        lines.append(f"| {what} | {b['median']} (min {b['min']}) | {n['median']} (min {n['min']}) | {note} |")
    ratio = starts["bytecode"]["cold"]["median"] / starts["bytecode"]["warm"]["median"]
    lines += [
        "",
        f"Warm vs cold first tools/list: {ratio:.1f}× faster (bytecode). Target met: "
        f"{'yes' if figures['startToToolListMs']['met'] else 'no'}.",
        "",
        "| import in a bare interpreter | ms (best of 3) |",
        "|---|---|",
        *(f"| `{name}` | {value:.1f} |" for name, value in imports.items()),
        "",
        "| per call | median ms | notes |",
        "|---|---|---|",
        f"| `validate` tool call (warm server) | {m['median']} | {m['vsCli']}× the CLI process |",
        f"| `tntc validate -o json` (new process) | {c['median']} | what shelling out costs |",
    ]
    (results_dir / "mcp.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
