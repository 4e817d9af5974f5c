"""`tntc run --local` on the embedded engine; `tntc run NAME` hands over to the cluster commands."""

from __future__ import annotations

import importlib.util
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


def test_run_without_local_goes_to_cluster_commands(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if importlib.util.find_spec("tentacular.cli.commands_cluster") is None:
        assert main(["run", "my-flow"]) == 1
        assert "not implemented in this build" in capsys.readouterr().err
        return
    import tentacular.cli.commands_cluster as cluster

    calls: list[Any] = []
    monkeypatch.setattr(
        cluster, "run_deployed", lambda ctx, name, **kw: calls.append((name, kw)), raising=False
    )
    main(["run", "my-flow", "--input", "{}"])
    assert calls and calls[0][0] == "my-flow"
