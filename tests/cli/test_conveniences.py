"""What agents and people expect of a CLI: --version, shell completion, -o json even for usage errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tentacular.cli.main import main

TNTC = [sys.executable, "-m", "tentacular.cli.main"]


def test_dash_dash_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith(f"tntc {version('tentacular')} ")
    assert main(["--version", "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["tntcVersion"] == version("tentacular")


def test_show_completion_prints_a_bash_script() -> None:
    result = subprocess.run(
        [*TNTC, "--show-completion", "bash"],
        capture_output=True,
        text=True,
        env={**os.environ, "SHELL": "/bin/bash"},
    )
    assert result.returncode == 0, result.stderr
    assert "complete" in result.stdout and "_TNTC_COMPLETE" in result.stdout


@pytest.mark.parametrize(
    ("words", "cword", "expected"), [("tntc val", "1", "validate"), ("tntc catalog ", "2", "pull")]
)
def test_completion_completes_commands(words: str, cword: str, expected: str) -> None:
    env = {**os.environ, "_TNTC_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
    result = subprocess.run(
        [sys.executable, "-c", "from tentacular.cli.main import run; run()"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert expected in result.stdout.split(), (result.stdout, result.stderr)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "Missing command"),
        (["catalog"], "tntc catalog needs a command"),
        (["no-such-command"], "No such command"),
        (["logs", "wf", "--tail", "many"], "--tail"),
        (["validate", "--bogus"], "No such option"),
    ],
)
def test_usage_errors_are_envelopes_with_json(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "-o", "json"]) == 2
    envelope = json.loads(capsys.readouterr().out)
    assert envelope["status"] == "fail"
    assert envelope["error"]["code"] == "usage"
    assert message in envelope["error"]["message"]
    assert envelope["error"]["hint"].startswith("see: tntc")


def test_a_failed_test_carries_an_error_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "failing", "--dir", str(tmp_path / "wf"), "-o", "json"]) == 0
    capsys.readouterr()
    fixture = tmp_path / "wf" / "tests" / "fixtures" / "hello.json"
    fixture.write_text(json.dumps({"input": {}, "expected": {"message": "something else"}}))
    assert main(["test", str(tmp_path / "wf"), "-o", "json"]) == 1
    envelope = json.loads(capsys.readouterr().out)
    assert envelope["status"] == "fail"
    assert envelope["error"]["code"] == "test_failed"
    assert envelope["error"]["message"] == envelope["summary"]


def test_install_completion_writes_the_bash_script(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "SHELL": "/bin/bash"}
    result = subprocess.run([*TNTC, "--install-completion", "bash"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    script = tmp_path / ".bash_completions" / "tntc.sh"
    assert "_TNTC_COMPLETE" in script.read_text()
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text()
