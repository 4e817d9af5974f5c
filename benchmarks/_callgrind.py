"""Instruction counts of a Python script under ``valgrind --tool=callgrind`` (load does not change them)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

_COLLECTED = re.compile(r"Collected : (\d+)")


def count_instructions(script: str, args: Sequence[str], *, env: Mapping[str, str]) -> int:
    """Every instruction ``python -c script args…`` executes, threads included."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", script]
    done = subprocess.run(
        [*command, *args], capture_output=True, text=True, env=dict(env), check=False, timeout=1800
    )
    match = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"callgrind run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return int(match.group(1))


def instructions_per_ms(
    script: str, args: Sequence[str], *, env: Mapping[str, str], instructions: int
) -> float:
    """This machine's native speed: ``instructions`` (counted for the same run) over its best of 5 times."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", script, *args], check=True, env=dict(env), capture_output=True)
        best = min(best, time.perf_counter() - started)
    return instructions / (best * 1000)
