"""`tntc configure --init-workspace` and `tntc init` into the workspace."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml

from tentacular.cli.main import main


def test_init_workspace_then_init_scaffolds_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tentacular.deploy._settings import user_config_path

    workspace = tmp_path / "tentacles"
    assert main(["configure", "--init-workspace", str(workspace), "-o", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["workspace"] == str(workspace)
    assert (workspace / ".git").is_dir()
    pool = workspace / ".secrets"
    assert stat.S_IMODE(pool.stat().st_mode) == 0o700
    assert ".secrets/" in (workspace / ".gitignore").read_text()
    config = yaml.safe_load(user_config_path().read_text())
    assert config["workspace"] == str(workspace)
    assert config["namespace"] == "default"
    assert "runtime_class" not in config  # an explicit value would beat kind detection
    assert report["cluster"]["checked"] is True
    assert report["cluster"]["reachable"] is False  # the tests' kubeconfig does not exist
    assert any("no cluster answered" in hint for hint in report["hints"])

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["init", "in-space", "-o", "json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["directory"] == str(workspace / "in-space")
    assert (workspace / "in-space" / "workflow.yaml").is_file()
    assert list(elsewhere.iterdir()) == []


def test_init_workspace_keeps_existing_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tentacular.deploy._settings import user_config_path

    user_config_path().parent.mkdir(parents=True, exist_ok=True)
    user_config_path().write_text("namespace: team-a\nregistry: reg.example\n")
    assert main(["configure", "--init-workspace", str(tmp_path / "ws"), "-o", "json"]) == 0
    capsys.readouterr()
    config = yaml.safe_load(user_config_path().read_text())
    assert config["namespace"] == "team-a" and config["registry"] == "reg.example"
    assert config["workspace"] == str(tmp_path / "ws")


def test_default_workspace_is_home_tentacles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["configure", "--init-workspace", "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["workspace"] == str(tmp_path / "tentacles")


def test_a_path_without_the_flag_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["configure", str(tmp_path), "-o", "json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "usage"
