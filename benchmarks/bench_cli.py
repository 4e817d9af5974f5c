"""Wall time of `tntc --help` and `tntc validate` (median of 10 process runs; target ≤ 150 ms)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TNTC = str(Path(sys.executable).with_name("tntc"))
RUNS = 10
TARGET_MS = 150.0

COMMANDS = {
    "tntc --help": [TNTC, "--help"],
    "tntc validate example-workflows/hn-digest": [TNTC, "validate", "example-workflows/hn-digest"],
}


def _time(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
    return (time.perf_counter() - started) * 1000


def main(results_dir: Path) -> None:
    figures = {}
    for label, argv in COMMANDS.items():
        _time(argv)  # warm the page cache and bytecode
        samples = [_time(argv) for _ in range(RUNS)]
        figures[label] = {
            "medianMs": round(statistics.median(samples), 1),
            "minMs": round(min(samples), 1),
            "maxMs": round(max(samples), 1),
            "runs": RUNS,
            "targetMs": TARGET_MS,
            "met": statistics.median(samples) <= TARGET_MS,
        }
    (results_dir / "cli.json").write_text(json.dumps(figures, indent=2) + "\n")
    lines = ["| command | median ms | min | max | target | met |", "|---|---|---|---|---|---|"]
    for label, f in figures.items():
        lines.append(
            f"| `{label}` | {f['medianMs']} | {f['minMs']} | {f['maxMs']} | ≤ {TARGET_MS:.0f} | "
            f"{'yes' if f['met'] else 'no'} |"
        )
    (results_dir / "cli.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
