"""The skill document: generated from the CLI, byte-identical across runs, committed copy in sync."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tentacular.cli.main import main
from tests.conftest import EXAMPLES, REPO_ROOT

COMMITTED = REPO_ROOT / "docs" / "SKILL.md"


def _skill() -> str:
    result = subprocess.run(
        [sys.executable, "-m", "tentacular.cli.main", "skill"], capture_output=True, text=True, check=True
    )
    return result.stdout


def test_byte_identical_across_runs() -> None:
    assert _skill() == _skill()


def test_committed_copy_is_in_sync() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == _skill(), (
        "docs/SKILL.md is stale: regenerate it with `make skill` (tntc skill --write docs)"
    )


def test_skill_names_every_command_flag_and_error_code() -> None:
    from tentacular.agent._skill import error_codes
    from tentacular.cli.command_tree import command_tree

    text = COMMITTED.read_text(encoding="utf-8")
    assert "\nrequires: tntc >= " in text
    assert "## Pre-build review gate" in text
    for command in command_tree():
        assert f"### `tntc {command.name}" in text, command.name
        for param in command.params:
            if not param.positional:
                assert f"`{param.flag}`" in text, (command.name, param.flag)
    for code, _exit, _meaning in error_codes():
        assert f"| `{code}` |" in text


def test_documented_envelope_fields_are_real(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tentacular.agent._skill import ENVELOPE_FIELDS

    runs = {
        "validate": ["validate", str(EXAMPLES / "word-counter")],
        "visualize": ["visualize", str(EXAMPLES / "word-counter")],
        "schema": ["schema"],
        "version": ["version"],
        "init": ["init", "fresh-flow", "--dir", str(tmp_path / "fresh")],
        "skill": ["skill"],
    }
    for command, argv in runs.items():
        assert main([*argv, "-o", "json"]) == 0
        envelope = json.loads(capsys.readouterr().out)
        documented = ENVELOPE_FIELDS[command]
        for field in envelope:
            if field in ("version", "command", "status", "summary", "hints", "timing"):
                continue
            assert f"`{field}" in documented, (command, field)


def test_write_puts_skill_md_in_the_directory(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["skill", "--write", str(tmp_path), "-o", "json"]) == 0
    envelope = json.loads(capsys.readouterr().out)
    assert envelope["written"] == str(tmp_path / "SKILL.md")
    assert (tmp_path / "SKILL.md").read_text(encoding="utf-8") == envelope["skill"]
