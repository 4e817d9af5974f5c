"""Every command renders its failures as the envelope with ``-o json`` and ``-o yaml`` (Build 3).

The table is generated from the command tree itself, so a new command is covered the moment it
is registered; a second table makes each kind of real failure (bad input, missing workflow, no
cluster) fail through every output format.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from tentacular.cli.app import app
from tentacular.cli.main import main
from tests.conftest import EXAMPLES

CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def _leaf_commands() -> list[str]:
    found: list[str] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        children = getattr(command, "commands", None)
        if children:
            for name, child in children.items():
                walk(child, (*path, name))
        elif not getattr(command, "hidden", False):
            found.append(" ".join(path))

    walk(typer.main.get_command(app), ())
    return found


LEAVES = _leaf_commands()


def _document(capsys: pytest.CaptureFixture[str], output: str) -> dict[str, Any]:
    out = capsys.readouterr().out
    document = json.loads(out) if output == "json" else yaml.safe_load(out)
    assert isinstance(document, dict), out
    return document


def _assert_failure_envelope(document: dict[str, Any], command: str, code: str) -> None:
    assert document["version"] == "1"
    assert document["command"] == command  # the real command, e.g. "cluster check"
    assert document["status"] == "fail"
    error = document["error"]
    assert {"code", "message", "hint"} <= set(error)
    assert error["code"] == code
    assert error["message"] == document["summary"]
    assert all(CAMEL.match(key) for key in document), list(document)
    assert all(CAMEL.match(key) for key in error), list(error)


def test_the_table_covers_the_whole_command_tree() -> None:
    assert {"validate", "deploy", "cluster check", "test", "run", "undeploy"} <= set(LEAVES)


@pytest.mark.parametrize("output", ["json", "yaml"])
@pytest.mark.parametrize("command", LEAVES)
def test_usage_failure_of_every_command_is_an_envelope(
    command: str, output: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command.split(), "--no-such-flag", "-o", output]) == 2
    document = _document(capsys, output)
    _assert_failure_envelope(document, command, "usage")
    assert document["hints"] == [f"see: tntc {command} --help"]


@pytest.mark.parametrize("output", ["json", "yaml"])
@pytest.mark.parametrize("group", ["cluster", "secrets", "catalog"])
def test_a_missing_subcommand_is_an_envelope(
    group: str, output: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if not any(leaf.startswith(group + " ") for leaf in LEAVES):
        pytest.skip(f"no {group} commands in this build")
    assert main([group, "-o", output]) == 2
    _assert_failure_envelope(_document(capsys, output), group, "usage")


def _failures(tmp: Path) -> list[tuple[list[str], str, str, int]]:
    """(argv, command, error code, exit code) for failures a user really meets."""
    missing = str(tmp / "nope")
    broken = tmp / "broken"
    broken.mkdir()
    (broken / "workflow.yaml").write_text("name: Bad_Name\nversion: 1\nnodes: {}\n")
    return [
        (["validate", missing], "validate", "workflow_not_found", 2),
        (["validate", str(broken)], "validate", "invalid_workflow", 2),
        (["visualize", missing], "visualize", "workflow_not_found", 2),
        (["test", missing], "test", "workflow_not_found", 2),
        (["run", "--local", missing], "run", "workflow_not_found", 2),
        (["run", "--local", missing, "--input", "{oops"], "run", "invalid_input", 2),
        (["deploy", "--dry-run", missing], "deploy", "workflow_not_found", 2),
        (["deploy", missing, "--timeout", "soon"], "deploy", "usage", 2),
        (["build", missing], "build", "workflow_not_found", 2),
        (["audit", missing], "audit", "workflow_not_found", 2),
        (["init", "Bad_Name", "--dir", str(tmp / "x")], "init", "invalid_input", 2),
        (["status", "wf"], "status", "cluster_unreachable", 1),
        (["list"], "list", "cluster_unreachable", 1),
        (["cluster", "check"], "cluster check", "cluster_unreachable", 1),
        (["undeploy", "wf"], "undeploy", "usage", 2),  # no prompt when the output is machine-read
        # One environment rule: an unknown --env fails deploy and test alike (Build 2).
        (["--env", "nope", "deploy", "--dry-run", str(EXAMPLES / "word-counter")], "deploy", "config", 2),
        (["--env", "nope", "test", str(EXAMPLES / "word-counter")], "test", "config", 2),
    ]


@pytest.mark.parametrize("output", ["json", "yaml"])
def test_real_failures_render_the_error_object(
    output: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.setenv("TENTACULAR_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    for argv, command, code, exit_code in _failures(tmp_path):
        assert main([*argv, "-o", output]) == exit_code, argv
        document = _document(capsys, output)
        assert document["command"] == command, argv
        assert document["error"]["code"] == code, (argv, document["error"])
        assert {"code", "message", "hint"} <= set(document["error"]), argv
