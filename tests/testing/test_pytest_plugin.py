"""The pytest plugin: fixture cases as pytest items, in a real pytest subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.testing.conftest import build_workflow


def _pytest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-p", "no:randomly", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_example_workflows_run_as_pytest_items() -> None:
    done = _pytest("example-workflows/", cwd=REPO_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    upstream_error = (
        "hn-digest/tests/fixtures/fetch-stories.upstream-error.json::fetch-stories[upstream-error]"
    )
    assert f"example-workflows/{upstream_error} PASSED" in out
    assert "example-workflows/word-counter/tests/fixtures/pipeline.json::pipeline PASSED" in out
    fixture_count = len(list((REPO_ROOT / "example-workflows").glob("*/tests/fixtures/*.json")))
    assert f"{fixture_count} passed" in out


def test_pass_and_fail_are_reported_and_other_tests_are_untouched(tmp_path: Path) -> None:
    build_workflow(
        tmp_path / "wf",
        {"double": "async def run(ctx, input):\n    return {'value': input['n'] * 2}\n"},
        fixtures={
            "double.json": {"input": {"n": 2}, "expected": {"value": 4}},
            "double.wrong.json": {"input": {"n": 2}, "expected": {"value": 5}},
            "pipeline.json": {"input": {"n": 1}, "expected": {"double": {"value": 3}}},
        },
    )
    # JSON under tests/fixtures of a directory without workflow.yaml is not ours to collect.
    stray = tmp_path / "app" / "tests" / "fixtures"
    stray.mkdir(parents=True)
    (stray / "data.json").write_text('{"input": {}}')
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    done = _pytest(".", cwd=tmp_path)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "wf/tests/fixtures/double.json::double[default] PASSED" in out
    assert "wf/tests/fixtures/double.wrong.json::double[wrong] FAILED" in out
    assert "wf/tests/fixtures/pipeline.json::pipeline FAILED" in out
    assert "test_plain.py::test_plain PASSED" in out
    assert "data.json" not in out
    assert "first difference at $.value: value differs" in out
    assert "expected: 5" in out and "actual:   4" in out
    assert "2 failed, 2 passed" in out
