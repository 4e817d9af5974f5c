"""Instruction counts of a Python script under ``valgrind --tool=callgrind`` (load does not change them)."""

from __future__ import annotations

import re
import subprocess
import sys
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
