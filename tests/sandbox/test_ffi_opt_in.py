"""The FFI opt-in (issue 11, Build 2): `contract.allowFFI: true` lets Python nodes import ctypes
and call native code; without it the import is refused with a message naming the switch. Both
through the real engine and `tntc test`; with the opt-in the kernel layer still holds, so a
native `system()` starts no process. The field is in the schema and validated like the others."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tentacular.spec import workflow_json_schema
from tests.guard.support import EngineProcess, base_env, tntc, write_workflow
from tests.sandbox.support import require_kernel_layer

NATIVE = """
import os


def run(ctx, input):
    import ctypes

    libc = ctypes.CDLL(None)
    marker = "/tmp/ffi-opt-in-" + str(os.getpid())
    status = libc.system(("touch " + marker).encode())  # glibc: 127 << 8 (or -1) when spawning fails
    same_pid = libc.getpid() == os.getpid()
    return {"pid": same_pid, "system failed": status != 0, "started": os.path.exists(marker)}
"""


def _workflow(tmp_path: Path, *, allow: bool | None) -> Path:
    contract: dict[str, Any] = {"version": "1"}
    if allow is not None:
        contract["allowFFI"] = allow
    directory = write_workflow(tmp_path / f"ffi-{allow}", {"native": NATIVE}, contract=contract)
    fixtures = directory / "tests" / "fixtures"
    fixtures.mkdir(parents=True)
    expected = {"pid": True, "system failed": True, "started": False} if allow else None
    case: dict[str, Any] = {"input": {}}
    if expected is not None:
        case["expected"] = expected
    else:
        case["expectError"] = "importing ctypes refused"
    (fixtures / "native.json").write_text(json.dumps(case))
    return directory


def _engine_run(directory: Path) -> dict[str, Any]:
    engine = EngineProcess(directory, env=base_env())
    try:
        return engine.run({})
    finally:
        engine.stop()


@pytest.mark.parametrize("allow", [None, False])
def test_without_the_opt_in_importing_ctypes_is_refused_and_names_the_switch(
    tmp_path: Path, allow: bool | None
) -> None:
    directory = _workflow(tmp_path, allow=allow)
    result = _engine_run(directory)
    assert not result["success"]
    error = result["errors"]["native"]
    assert "importing ctypes refused" in error and "contract.allowFFI: true" in error, error
    done = tntc("test", str(directory), env=base_env(), cwd=directory)
    assert done.returncode == 0, done.stdout + done.stderr  # the fixture expects the refusal


def test_with_the_opt_in_native_calls_work_and_the_kernel_layer_still_holds(tmp_path: Path) -> None:
    require_kernel_layer()
    directory = _workflow(tmp_path, allow=True)
    result = _engine_run(directory)
    assert result["success"], result
    # getpid through libc works; system() cannot fork (seccomp) and returns -1; no file appeared.
    assert result["outputs"]["native"] == {"pid": True, "system failed": True, "started": False}
    done = tntc("test", str(directory), env=base_env(), cwd=directory)
    assert done.returncode == 0, done.stdout + done.stderr


def test_allow_ffi_is_in_the_schema_and_validated(tmp_path: Path) -> None:
    contract = workflow_json_schema()["$defs"]["Contract"]["properties"]
    assert contract["allowFFI"]["type"] == "boolean" and contract["allowFFI"]["default"] is False
    directory = _workflow(tmp_path, allow=True)
    assert tntc("validate", str(directory), env=base_env()).returncode == 0
    spec = (directory / "workflow.yaml").read_text().replace("allowFFI: true", "allowFFI: sometimes")
    (directory / "workflow.yaml").write_text(spec)
    done = tntc("validate", str(directory), "-o", "json", env=base_env())
    assert done.returncode == 2
    assert "contract.allowFFI" in done.stdout, done.stdout
