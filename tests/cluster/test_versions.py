"""Immutable code versions, ``tntc versions`` (+ ``--diff``), ``tntc rollback`` and ``--keep`` (issue 15)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cluster.emulator import KubeEmulator
from tests.cluster.test_lifecycle import copy_example, tntc

NODE = "nodes/format_digest.py"


def code_configmaps(emulator: KubeEmulator) -> dict[str, dict[str, Any]]:
    return {n: o for n, o in emulator.objects("configmaps", "default").items() if "-code-" in n}


def live_code(emulator: KubeEmulator) -> str:
    deployment = emulator.get("deployments", "default", "hn-digest")
    assert deployment is not None
    (volume,) = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "code"]
    return str(volume["configMap"]["name"])


def deploy(capsys: pytest.CaptureFixture[str], directory: Path, *extra: str) -> dict[str, Any]:
    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force", *extra)
    assert code == 0, doc
    return doc


def bump(directory: Path, version: str, marker: str) -> None:
    spec = directory / "workflow.yaml"
    text = spec.read_text()
    current = next(line for line in text.splitlines() if line.startswith("version:"))
    spec.write_text(text.replace(current, f'version: "{version}"', 1))
    node = directory / NODE
    node.write_text(node.read_text() + f"\n# {marker}\n")


def test_versions_diff_rollback_and_keep(
    emulator: KubeEmulator,
    kubeconfig: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TNTC_DEPLOYED_BY", "alice@example.com")
    directory = copy_example("hn-digest", tmp_path)
    bump(directory, "1.0", "first")
    deploy(capsys, directory)
    v1 = live_code(emulator)
    assert v1.startswith("hn-digest-code-1.0-")
    configmap = emulator.get("configmaps", "default", v1)
    assert configmap is not None and configmap["immutable"] is True
    assert configmap["metadata"]["labels"]["tentacular.io/code-hash"] == v1.rsplit("-", 1)[1]

    bump(directory, "2.0", "second")
    monkeypatch.setenv("TNTC_DEPLOYED_BY", "bob@example.com")
    deploy(capsys, directory)
    v2 = live_code(emulator)
    assert v2.startswith("hn-digest-code-2.0-") and set(code_configmaps(emulator)) == {v1, v2}

    code, doc, _ = tntc(capsys, "versions", "hn-digest")
    assert code == 0, doc
    rows = {row["name"]: row for row in doc["versions"]}
    assert set(rows) == {v1, v2}
    assert rows[v2]["live"] is True and rows[v1]["live"] is False
    assert rows[v1]["version"] == "1.0" and rows[v2]["version"] == "2.0"
    assert rows[v1]["deployedBy"] == "alice@example.com" and rows[v2]["deployedBy"] == "bob@example.com"
    assert rows[v2]["codeHash"].startswith("sha256:" + v2.rsplit("-", 1)[1])
    assert rows[v1]["size"] > 0 and rows[v1]["deployedAt"]

    code, doc, _ = tntc(capsys, "versions", "hn-digest", "--diff", "1.0", "2.0")
    assert code == 0, doc
    assert f"--- {v1}/{NODE}" in doc["diff"] and f"+++ {v2}/{NODE}" in doc["diff"]
    assert "-# first" not in doc["diff"] and "+# second" in doc["diff"]
    assert '-version: "1.0"' in doc["diff"] and '+version: "2.0"' in doc["diff"]

    code, doc, _ = tntc(capsys, "rollback", "hn-digest")
    assert code == 0, doc
    assert doc["to"]["name"] == v1 and doc["from"]["name"] == v2
    assert live_code(emulator) == v1
    code, doc, _ = tntc(capsys, "versions", "hn-digest")
    assert {row["name"]: row["live"] for row in doc["versions"]} == {v1: True, v2: False}

    code, doc, _ = tntc(capsys, "rollback", "hn-digest", "--to", v2.rsplit("-", 1)[1][:6])
    assert code == 0, doc
    assert live_code(emulator) == v2

    bump(directory, "3.0", "third")
    doc = deploy(capsys, directory, "--keep", "2")
    v3 = live_code(emulator)
    assert {"object": f"ConfigMap/{v1}", "action": "pruned"} in doc["manifests"]
    assert set(code_configmaps(emulator)) == {v2, v3}

    code, doc, _ = tntc(capsys, "rollback", "hn-digest", "--to", "1.0")
    assert code == 1
    assert doc["error"]["code"] == "version_not_found"
    assert "pruned" in doc["error"]["hint"]
    assert live_code(emulator) == v3


def test_unchanged_redeploy_keeps_the_stamps(
    emulator: KubeEmulator,
    kubeconfig: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TNTC_DEPLOYED_BY", "alice")
    directory = copy_example("word-counter", tmp_path)
    deploy(capsys, directory, "--runtime-class", "")
    deployment = emulator.get("deployments", "default", "word-counter")
    assert deployment is not None
    annotations = deployment["metadata"]["annotations"]
    assert annotations["tentacular.io/deployed-by"] == "alice"
    assert annotations["tentacular.io/deployed-at"].endswith("Z")
    assert annotations["tentacular.io/release"].startswith("deploy-")
    assert annotations["tentacular.io/object-hash"].startswith("sha256:")
    monkeypatch.setenv("TNTC_DEPLOYED_BY", "bob")
    doc = deploy(capsys, directory, "--runtime-class", "")
    assert {m["action"] for m in doc["manifests"]} == {"unchanged"}
    after = emulator.get("deployments", "default", "word-counter")
    assert after is not None and after["metadata"]["annotations"] == annotations

    code, doc, _ = tntc(capsys, "status", "word-counter")
    assert code == 0
    assert doc["workflow"]["annotations"]["tentacular.io/deployed-by"] == "alice"
    code, doc, _ = tntc(capsys, "list")
    assert doc["workflows"][0]["deployedBy"] == "alice"
    assert doc["workflows"][0]["release"] == annotations["tentacular.io/release"]


def test_rollback_with_nothing_older_refuses(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("word-counter", tmp_path)
    deploy(capsys, directory, "--runtime-class", "")
    code, doc, _ = tntc(capsys, "rollback", "word-counter")
    assert code == 1 and doc["error"]["code"] == "version_not_found"
    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force", "--keep", "0")
    assert code == 2 and "--keep" in doc["error"]["message"]
