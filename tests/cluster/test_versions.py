"""Immutable code versions, ``tntc versions`` (+ ``--diff``), ``tntc rollback`` and ``--keep`` (issue 15),
on the real control plane (tests/cluster/kube.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.kube import Kube
from tests.cluster.test_lifecycle import copy_example, tntc

NODE = "nodes/format_digest.py"


def code_configmaps(kube: Kube) -> dict[str, dict[str, Any]]:
    return kube.objects("configmaps", **{"app.kubernetes.io/component": "code"})


def live_code(kube: Kube, name: str = "hn-digest") -> str:
    deployment = kube.get("deployments", name)
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
    admin_kubeconfig: Path,
    kube: Kube,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TNTC_DEPLOYED_BY", "alice@example.com")
    directory = copy_example("hn-digest", tmp_path)
    bump(directory, "1.0", "first")
    deploy(capsys, directory)
    v1 = live_code(kube)
    assert v1.startswith("hn-digest-code-1.0-")
    configmap = kube.get("configmaps", v1)
    assert configmap is not None and configmap["immutable"] is True
    assert configmap["metadata"]["labels"]["tentacular.io/code-hash"] == v1.rsplit("-", 1)[1]

    bump(directory, "2.0", "second")
    monkeypatch.setenv("TNTC_DEPLOYED_BY", "bob@example.com")
    deploy(capsys, directory)
    v2 = live_code(kube)
    assert v2.startswith("hn-digest-code-2.0-") and set(code_configmaps(kube)) == {v1, v2}

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
    assert live_code(kube) == v1
    (pod,) = kube.wait_for(
        "only v1's pod",
        lambda: (
            [
                p
                for p in kube.objects("pods", **{"app.kubernetes.io/name": "hn-digest"}).values()
                if p["status"].get("phase") == "Running"
            ]
            or None
        ),
    )
    code_volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "code")
    assert code_volume["configMap"]["name"] == v1
    code, doc, _ = tntc(capsys, "versions", "hn-digest")
    assert {row["name"]: row["live"] for row in doc["versions"]} == {v1: True, v2: False}

    code, doc, _ = tntc(capsys, "rollback", "hn-digest", "--to", v2.rsplit("-", 1)[1][:6])
    assert code == 0, doc
    assert live_code(kube) == v2

    bump(directory, "3.0", "third")
    doc = deploy(capsys, directory, "--keep", "2")
    v3 = live_code(kube)
    assert {"object": f"ConfigMap/{v1}", "action": "pruned"} in doc["manifests"]
    assert set(code_configmaps(kube)) == {v2, v3}

    code, doc, _ = tntc(capsys, "rollback", "hn-digest", "--to", "1.0")
    assert code == 1
    assert doc["error"]["code"] == "version_not_found"
    assert "pruned" in doc["error"]["hint"]
    assert live_code(kube) == v3


def test_unchanged_redeploy_keeps_the_stamps(
    admin_kubeconfig: Path,
    kube: Kube,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TNTC_DEPLOYED_BY", "alice")
    directory = copy_example("word-counter", tmp_path)
    deploy(capsys, directory)
    deployment = kube.get("deployments", "word-counter")
    assert deployment is not None
    annotations = deployment["metadata"]["annotations"]
    assert annotations["tentacular.io/deployed-by"] == "alice"
    assert annotations["tentacular.io/deployed-at"].endswith("Z")
    assert annotations["tentacular.io/release"].startswith("deploy-")
    assert annotations["tentacular.io/object-hash"].startswith("sha256:")
    monkeypatch.setenv("TNTC_DEPLOYED_BY", "bob")
    doc = deploy(capsys, directory)
    assert {m["action"] for m in doc["manifests"]} == {"unchanged"}
    after = kube.get("deployments", "word-counter")
    assert after is not None and after["metadata"]["annotations"] == annotations

    code, doc, _ = tntc(capsys, "status", "word-counter")
    assert code == 0
    assert doc["workflow"]["annotations"]["tentacular.io/deployed-by"] == "alice"
    code, doc, _ = tntc(capsys, "list")
    assert doc["workflows"][0]["deployedBy"] == "alice"
    assert doc["workflows"][0]["release"] == annotations["tentacular.io/release"]


def test_rollback_with_nothing_older_refuses(
    admin_kubeconfig: Path, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("word-counter", tmp_path)
    deploy(capsys, directory)
    code, doc, _ = tntc(capsys, "rollback", "word-counter")
    assert code == 1 and doc["error"]["code"] == "version_not_found"
    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force", "--keep", "0")
    assert code == 2 and "--keep" in doc["error"]["message"]


def test_deployed_by_is_the_kubeconfig_user(
    admin_kubeconfig: Path,
    kube: Kube,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TNTC_DEPLOYED_BY", raising=False)
    config = yaml.safe_load(admin_kubeconfig.read_text())
    user = config["users"][0]["name"]
    assert user and user != "tntc"
    deploy(capsys, copy_example("word-counter", tmp_path))
    for resource in ("deployments", "services", "configmaps"):
        for obj in kube.objects(resource, **{"app.kubernetes.io/name": "word-counter"}).values():
            annotations = obj["metadata"]["annotations"]
            assert annotations["tentacular.io/deployed-by"] == user, resource
            assert annotations["tentacular.io/source-path"] == "word-counter"
    code, doc, _ = tntc(capsys, "versions", "word-counter")
    assert code == 0 and doc["versions"][0]["deployedBy"] == user


def test_secrets_sync_keeps_the_next_redeploy_a_no_op(
    admin_kubeconfig: Path, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("repo-digest", tmp_path)
    secrets = directory / ".secrets.yaml"
    secrets.write_text("github:\n  token: first\nslack:\n  webhook_url: https://hooks.example/1\n")
    deploy(capsys, directory)
    secrets.write_text("github:\n  token: second\nslack:\n  webhook_url: https://hooks.example/1\n")
    code, doc, _ = tntc(capsys, "secrets", "sync", str(directory))
    assert code == 0 and doc["changed"] is True, doc
    secret = kube.get("secrets", "repo-digest-secrets")
    assert secret is not None
    assert secret["metadata"]["annotations"]["tentacular.io/object-hash"].startswith("sha256:")
    doc = deploy(capsys, directory)
    assert {m["action"] for m in doc["manifests"]} == {"unchanged"}, doc["manifests"]
