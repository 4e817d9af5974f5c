"""init, validate and visualize as a newcomer uses them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tentacular.cli.main import main
from tests.conftest import EXAMPLES


def test_init_then_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init", "my-wf"]) == 0
    created = {str(p.relative_to(tmp_path / "my-wf")) for p in (tmp_path / "my-wf").rglob("*") if p.is_file()}
    assert created == {
        "workflow.yaml",
        "nodes/hello.py",
        "tests/fixtures/hello.json",
        ".secrets.yaml.example",
        ".gitignore",
    }
    assert main(["validate", "my-wf"]) == 0
    out = capsys.readouterr().out
    assert "is valid" in out
    assert "Egress rules" in out  # the scaffold ships an empty contract (Q37)


def test_init_refuses_non_empty_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init", "my-wf"]) == 0
    (tmp_path / "my-wf" / "nodes" / "hello.py").write_text("# my edits\n")
    assert main(["init", "my-wf"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "my-wf" / "nodes" / "hello.py").read_text() == "# my edits\n"
    assert main(["init", "my-wf", "--force"]) == 0
    assert "async def run" in (tmp_path / "my-wf" / "nodes" / "hello.py").read_text()


def test_init_rejects_bad_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init", "My_Flow"]) == 2
    assert "kebab-case" in capsys.readouterr().err
    assert not (tmp_path / "My_Flow").exists()


def test_init_into_dir(tmp_path: Path) -> None:
    assert main(["init", "other", "--dir", str(tmp_path / "place")]) == 0
    assert "name: other" in (tmp_path / "place" / "workflow.yaml").read_text()


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
def test_examples_validate(example: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLES / example), "-o", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["warnings"] == []


def test_visualize_matches_readme_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["visualize", str(EXAMPLES / "hn-digest")]) == 0
    assert capsys.readouterr().out == (
        "```mermaid\n"
        "flowchart LR\n"
        "    trigger_manual{{manual}}\n"
        '    trigger_morning{{"cron: morning 0 8 * * *"}}\n'
        "    fetch-stories[fetch-stories]\n"
        "    filter-stories[filter-stories]\n"
        "    format-digest[format-digest]\n"
        "\n"
        "    trigger_manual --> fetch-stories\n"
        "    trigger_morning --> fetch-stories\n"
        "    fetch-stories --> filter-stories\n"
        "    filter-stories --> format-digest\n"
        "```\n"
    )


def test_visualize_is_byte_identical_across_processes() -> None:
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "tentacular.cli.main",
                "visualize",
                str(EXAMPLES / "repo-digest"),
                "--rich",
            ],
            capture_output=True,
            check=True,
            env=env,
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1


def test_visualize_rich_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    target = tmp_path / "repo-digest"
    shutil.copytree(EXAMPLES / "repo-digest", target)
    assert main(["visualize", str(target), "--rich", "--write"]) == 0
    diagram = (target / "workflow-diagram.md").read_text()
    summary = (target / "contract-summary.md").read_text()
    assert "dep_github[(github<br/>api.github.com:443)]" in diagram
    assert "`github.token` → service=github, key=github" not in summary
    assert "`github.token` → service=github, key=token" in summary
    assert "| hooks.slack.com | 443 | TCP | slack |" in summary
    assert "| 8080 | TCP | trigger-pods |" in summary  # the real ingress source (Q36)
    assert "Wrote" in capsys.readouterr().err
