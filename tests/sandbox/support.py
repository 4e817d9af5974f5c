"""Helpers for the kernel-layer tests. Nothing here filters the pytest process itself:
seccomp and Landlock are irreversible, so every sandboxed piece runs in a child process."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.guard.support import PYTHON, base_env

# The engine's start-up (prepare → kernel layer → load the nodes → run) with the audit hooks
# deliberately left out, so whatever is refused here is refused by the kernel alone.
_KERNEL_ONLY = """
import asyncio, json, sys
from tentacular.engine import _guard, _startup

prepared = _startup.prepare(sys.argv[1], log_stream=sys.stderr)
policy = _guard.policy_for(prepared.loaded.workflow, str(prepared.workflow_dir.resolve()))
status = _guard.apply_kernel_layer(prepared, policy, (), hot_reload=False)
engine = _startup.load(prepared)
payload = json.loads(sys.argv[2])

async def main():
    try:
        return await engine.run(payload)
    finally:
        await engine.services.http.aclose()

result = asyncio.run(main()).to_dict()
print(json.dumps({"kernel": status.to_dict(), "result": result, "guard": _guard.active_guard() is not None}))
"""


def landlock_abi() -> int:
    probe = "from tentacular.engine._landlock import probe; print(probe())"
    return int(subprocess.run([PYTHON, "-c", probe], capture_output=True, text=True, check=True).stdout)


def require_kernel_layer() -> None:
    """Environments without Landlock (gVisor, old kernels) cannot run these; say so plainly."""
    if landlock_abi() < 4:
        pytest.skip("this kernel offers no Landlock ABI >= 4 (the layer reports itself unavailable)")


def run_kernel_only(workflow: Path, payload: Any, *, env: dict[str, str] | None = None) -> dict[str, Any]:
    completed = subprocess.run(
        [PYTHON, "-c", textwrap.dedent(_KERNEL_ONLY), str(workflow), json.dumps(payload)],
        env=base_env(**(env or {})),
        cwd=str(workflow),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    data: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return data
