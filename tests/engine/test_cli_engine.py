"""`tntc run --local` on the embedded engine; `tntc run NAME` hands over to the cluster commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tentacular.cli.main import main

from .conftest import WorkflowWriter

REPO = Path(__file__).resolve().parents[2]


class Done:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


def tntc(*args: str) -> Done:
    """A real `tntc` process: local runs install process-wide state (the D4 guard) that must not leak."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from tentacular.cli.main import run; run()", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    return Done(done.returncode, done.stdout, done.stderr)


def test_run_local_word_counter_text() -> None:
    done = tntc(
        "run", "--local", str(REPO / "example-workflows/word-counter"), "--input", '{"text": "a b a"}'
    )
    assert done.code == 0, done.err
    result = json.loads(done.out[: done.out.rindex("}") + 1])
    assert result["outputs"]["report"]["top"][0] == {"word": "a", "count": 2}
    assert "[PASS] word-counter" in done.out


def test_run_local_json_envelope_and_input_file(tmp_path: Path) -> None:
    payload = tmp_path / "in.json"
    payload.write_text('{"text": "x y"}')
    word_counter = str(REPO / "example-workflows/word-counter")
    done = tntc("-o", "json", "run", "--local", word_counter, "--input", f"@{payload}")
    doc = json.loads(done.out)
    assert done.code == 0 and doc["status"] == "pass" and doc["command"] == "run"
    assert doc["execution"]["success"] is True
    assert doc["execution"]["outputs"]["measure"]["total"] == 2


def test_run_local_failure_exits_1_with_result(make_flow: WorkflowWriter) -> None:
    flow = make_flow({"bad": "async def run(ctx, input):\n    raise RuntimeError('nope')\n"})
    done = tntc("-o", "json", "run", "--local", str(flow))
    doc = json.loads(done.out)
    assert done.code == 1 and doc["status"] == "fail"
    assert doc["execution"]["errors"]["bad"].startswith("RuntimeError: nope")


def test_invalid_input_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--local", str(REPO / "example-workflows/word-counter"), "--input", "{oops"])
    assert code == 2
    assert "--input is not valid JSON" in capsys.readouterr().err


def test_run_without_local_goes_to_the_deploy_face(monkeypatch: pytest.MonkeyPatch) -> None:
    import tentacular.deploy as face
    from tentacular.deploy._cluster_ops import RunReport
    from tentacular.deploy._kube.trigger import RunOutcome

    calls: list[Any] = []

    def run_deployed(name: str, **kw: Any) -> RunReport:
        calls.append((name, kw))
        return RunReport(name, "default", RunOutcome("p", "Succeeded", {"success": True}, ""))

    monkeypatch.setattr(face, "run_deployed", run_deployed)
    assert main(["run", "my-flow", "--input", '{"a": 1}', "--timeout", "2m"]) == 0
    [(name, kw)] = calls
    assert (name, kw["input"], kw["timeout"]) == ("my-flow", {"a": 1}, 120.0)
