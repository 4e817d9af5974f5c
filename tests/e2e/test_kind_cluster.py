"""Every example on a real cluster (kind with the engine image loaded). Skipped without TNTC_E2E_KUBECONFIG.

See docs/operations.md ("End-to-end tests") for how to prepare the cluster.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tentacular.cli.main import main
from tentacular.deploy._settings import default_engine_image
from tests.conftest import EXAMPLES

KUBECONFIG = os.environ.get("TNTC_E2E_KUBECONFIG")
NAMESPACE = os.environ.get("TNTC_E2E_NAMESPACE", "tntc-e2e")
IMAGE = os.environ.get("TNTC_E2E_IMAGE") or default_engine_image()  # what `tntc build` tags
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not KUBECONFIG, reason="set TNTC_E2E_KUBECONFIG to run against a real cluster"),
]


def tntc(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "-o", "json", "-n", NAMESPACE])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture(autouse=True)
def cluster_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert KUBECONFIG
    monkeypatch.setenv("KUBECONFIG", KUBECONFIG)
    monkeypatch.setenv("TENTACULAR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TENTACULAR_ENV", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("example", ["word-counter", "hn-digest", "repo-digest"])
def test_example_on_cluster(example: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / example
    shutil.copytree(EXAMPLES / example, directory, ignore=shutil.ignore_patterns("__pycache__"))
    assert tntc(capsys, "cluster", "check", "--fix")[0] == 0
    try:
        code, doc = tntc(capsys, "deploy", str(directory), "--force", "--image", IMAGE)
        assert code == 0, doc
        code, doc = tntc(capsys, "status", example, "--detail")
        assert code == 0 and doc["workflow"]["ready"], doc
        code, doc = tntc(capsys, "run", example, "--timeout", "120")
        # hn-digest and repo-digest call the internet (repo-digest also needs secrets): the body must
        # come back either way (Q13); only the offline word-counter must succeed.
        assert "execution" in doc, doc
        if example == "word-counter":
            assert code == 0 and doc["execution"]["success"] is True, doc
        code, doc = tntc(capsys, "logs", example, "--tail", "20")
        assert code == 0 and doc["lines"], doc
        code, doc = tntc(capsys, "audit", str(directory))
        assert doc["audit"]["networkPolicy"]["status"] == "match", doc
        assert doc["audit"]["cronJobs"]["status"] == "match", doc
    finally:
        code, doc = tntc(capsys, "undeploy", example, "--yes")
        assert code == 0, doc
    code, doc = tntc(capsys, "list")
    assert example not in [w["name"] for w in doc["workflows"]]
