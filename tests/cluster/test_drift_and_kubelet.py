"""Drift through managedFields and the kubelet-unreachable mapping, on the real control plane
(issue 13, Build 6 and 7)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.cluster.control_plane import ControlPlane
from tests.cluster.kube import EditDeployer, Kube
from tests.cluster.test_least_privilege import assert_filled
from tests.cluster.test_lifecycle import copy_example, tntc

ENV_PATH = "spec.template.spec.containers[name=engine].env[name=FOO]"


def test_foreign_env_var_is_reported_fails_audit_and_reclaim_removes_it(
    edit_deployer: EditDeployer, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_deployer()
    directory = copy_example("word-counter", tmp_path)
    assert tntc(capsys, "deploy", str(directory), "--force")[0] == 0

    # What `kubectl set env deployment/word-counter FOO=bar` sends, and a `kubectl scale`.
    set_env = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "engine", "env": [{"name": "FOO", "value": "bar"}]}]}
            }
        }
    }
    kube.patch(
        "deployments",
        "word-counter",
        set_env,
        content_type="application/strategic-merge-patch+json",
        field_manager="kubectl-set",
    )
    kube.patch("deployments", "word-counter", {"spec": {"replicas": 2}}, field_manager="kubectl")

    code, doc, err = tntc(capsys, "audit", str(directory))
    assert code == 1 and doc["audit"]["overall"] == "fail"
    drift = doc["audit"]["drift"]
    assert drift["status"] == "mismatch"
    assert {(f["path"], f["manager"], f["security"]) for f in drift["fields"]} == {
        (ENV_PATH, "kubectl-set", True),
        ("spec.replicas", "kubectl", False),
    }
    assert doc["audit"]["deployment"]["status"] == "match", "the hardening fields themselves are untouched"
    assert any("--reclaim" in hint for hint in doc["hints"])
    assert "bar" not in str(drift), "drift reports paths and managers, never values"
    assert_filled(doc, err)

    # The rollouts these changes start are not what is tested: no waiting for kwok.
    code, doc, err = tntc(capsys, "deploy", str(directory), "--force", "--no-wait")
    assert code == 0, doc
    assert [(d["path"], d["manager"]) for d in doc["drift"]] == [(ENV_PATH, "kubectl-set")]
    assert "drift taken back: Deployment/word-counter spec.replicas (was owned by kubectl)" in err
    assert f"⚠ drift: Deployment/word-counter {ENV_PATH} is owned by kubectl-set (security-relevant)" in err
    assert any("tntc deploy --reclaim" in hint for hint in doc["hints"])
    live = kube.get("deployments", "word-counter")
    assert live["spec"]["replicas"] == 1
    assert live["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "FOO", "value": "bar"}]
    assert tntc(capsys, "audit", str(directory))[0] == 1

    code, doc, err = tntc(capsys, "deploy", str(directory), "--force", "--reclaim", "--no-wait")
    assert code == 0, doc
    assert (
        doc["drift"] == []
        and {"object": "Deployment/word-counter", "action": "reclaimed"} in doc["manifests"]
    )
    assert f"reclaimed Deployment/word-counter {ENV_PATH} (was owned by kubectl-set)" in err
    live = kube.get("deployments", "word-counter")
    assert "env" not in live["spec"]["template"]["spec"]["containers"][0]
    assert {e["manager"] for e in live["metadata"]["managedFields"]} <= {"tntc", "kube-controller-manager"}
    code, doc, _ = tntc(capsys, "audit", str(directory))
    assert code == 0 and doc["audit"]["drift"] == {"status": "match", "fields": []}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_logs_from_a_node_whose_kubelet_is_unreachable_name_the_node(
    control_plane: ControlPlane, admin_kubeconfig: Path, kube: Kube, capsys: pytest.CaptureFixture[str]
) -> None:
    node = f"gone-{kube.namespace}"
    with control_plane.client() as api:
        created = api.post(
            "/api/v1/nodes",
            json={
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": node},
                "status": {
                    "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": _closed_port()}},
                },
            },
        )
        assert created.status_code == 201, created.text
        try:
            hardened = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "ghost-0", "labels": {"app.kubernetes.io/name": "ghost"}},
                "spec": {
                    "nodeName": node,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 65534,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [{"name": "engine", "image": "engine:1", "securityContext": hardened}],
                },
            }
            kube.create("pods", pod)
            code, doc, err = tntc(capsys, "logs", "ghost")
        finally:
            api.delete(f"/api/v1/nodes/{node}")
    assert code == 1 and doc["error"]["code"] == "cluster_kubelet_unreachable", doc
    assert doc["error"]["node"] == node
    assert f"cannot reach the kubelet on node {node}" in doc["summary"]
    assert f"kubectl get node {node}" in doc["hints"][0]
    assert "overloaded" not in str(doc)
    assert_filled(doc, err)
