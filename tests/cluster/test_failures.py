"""Partial applies, preflight stops, API errors, run failures and rollout timeouts, on the real
control plane; faults it will not produce on demand come from the proxy in front of it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.cluster.control_plane import ControlPlane, free_port
from tests.cluster.fault_proxy import FaultProxy
from tests.cluster.kube import FAILING_WORKFLOW, NEVER_READY_IMAGE, Kube, service_account_token
from tests.cluster.test_lifecycle import copy_example, tntc

PodLogs = Callable[[list[str]], None]


def failing_workflow(tmp_path: Path) -> Path:
    """word-counter renamed to the workflow whose trigger pods exit 1 (kwok-stages.yaml)."""
    directory = copy_example("word-counter", tmp_path)
    spec = directory / "workflow.yaml"
    data = yaml.safe_load(spec.read_text())
    data["name"] = FAILING_WORKFLOW
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    return directory


def test_failure_halfway_keeps_previous_version_and_rerun_converges(
    fault_proxy: FaultProxy, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("hn-digest", tmp_path)
    assert tntc(capsys, "deploy", str(directory), "--force")[0] == 0
    serving = kube.get("deployments", "hn-digest")
    node = directory / "nodes" / "filter_stories.py"
    node.write_text(node.read_text() + "\n# v2\n")
    fault_proxy.fail("PATCH", r"/deployments/hn-digest$", message="etcdserver: request timed out")

    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force")
    assert code == 1
    assert doc["status"] == "fail"
    assert doc["error"]["code"] == "apply_incomplete"
    assert doc["error"]["failed"] == "Deployment/hn-digest"
    assert any(ref.startswith("ConfigMap/hn-digest-code-1.0-") for ref in doc["error"]["applied"])
    assert [p["status"] for p in doc["phases"] if p["name"] == "apply"] == ["fail"]
    assert fault_proxy.hits == [f"PATCH /apis/apps/v1/namespaces/{kube.namespace}/deployments/hn-digest"]
    assert kube.get("deployments", "hn-digest") == serving, "the running version was not touched"

    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force")
    assert code == 0, doc
    changed = {m["object"] for m in doc["manifests"] if m["action"] != "unchanged"}
    assert changed == {"Deployment/hn-digest"}


def test_missing_namespace_stops_before_apply_and_fix_creates_it(
    admin_kubeconfig: Path, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prod = kube.make_namespace("prod", create=False)
    directory = copy_example("word-counter", tmp_path)
    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force", "-n", prod)
    assert code == 1 and doc["error"]["code"] == "preflight_failed"
    assert any(f"--fix -n {prod}" in hint for hint in doc["hints"])
    # Only hints that apply: --force was given and nothing reached the cluster (Build 4).
    assert not any("--force" in hint or "tntc logs" in hint for hint in doc["hints"]), doc["hints"]
    assert kube.writes() == []

    code, doc, _ = tntc(capsys, "cluster", "check", "-n", prod)
    assert code == 1 and doc["status"] == "fail"
    code, doc, _ = tntc(capsys, "cluster", "check", "--fix", "-n", prod)
    assert code == 0, doc
    assert f"Namespace '{prod}' (auto-created)" in [c["name"] for c in doc["checks"]]
    assert kube.get("namespaces", prod) is not None
    assert tntc(capsys, "deploy", str(directory), "--force", "-n", prod)[0] == 0


def test_rbac_denied_stops_before_apply(
    control_plane: ControlPlane,
    kube: Kube,
    isolated: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A deployer whose Role lacks two verbs tntc needs: preflight names both, nothing is applied."""
    ns = kube.namespace
    every = ["get", "list", "watch", "create", "patch", "update", "delete"]
    rules = [
        {
            "apiGroups": [""],
            "resources": ["configmaps", "services", "pods", "pods/log", "events"],
            "verbs": every,
        },
        {"apiGroups": [""], "resources": ["secrets"], "verbs": [v for v in every if v != "delete"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": every},
        {"apiGroups": ["batch"], "resources": ["cronjobs"], "verbs": [v for v in every if v != "create"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": every},
    ]
    kube.create(
        "serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "narrow"}}
    )
    rbac = "rbac.authorization.k8s.io/v1"
    kube.create("roles", {"apiVersion": rbac, "kind": "Role", "metadata": {"name": "narrow"}, "rules": rules})
    subject = [{"kind": "ServiceAccount", "name": "narrow", "namespace": ns}]
    role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "narrow"}
    binding = {"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": "narrow"}, "roleRef": role_ref}
    kube.create("rolebindings", {**binding, "subjects": subject})
    token = service_account_token(control_plane, ns, "narrow")
    from tests.cluster.kube import _point_tntc_at

    _point_tntc_at(
        control_plane.kubeconfig(tmp_path / "narrow.kubeconfig", token=token, user="narrow"), ns, monkeypatch
    )
    kube.clear_writes()
    code, doc, _ = tntc(capsys, "deploy", str(copy_example("word-counter", tmp_path)), "--force")
    assert code == 1 and doc["error"]["code"] == "preflight_failed", doc
    # word-counter has no cron trigger: its deploy needs no `create cronjobs`, only `list`/`delete`
    # for pruning, which the Role has; `delete secrets` only undeploy needs, so it is a warning.
    checks = {c["name"]: c for c in doc["error"]["checks"]}
    deploy_rbac = checks[f"RBAC for deploy (namespace {ns})"]
    assert not deploy_rbac["passed"]
    assert f"create ingresses.networking.k8s.io in namespace {ns}" not in deploy_rbac["remediation"]
    assert f"list ingresses.networking.k8s.io in namespace {ns}" in deploy_rbac["remediation"]
    later = checks["RBAC for undeploy, status, logs, run, audit"]
    assert later["passed"] and "tntc undeploy needs" in later["warning"]
    assert f"delete secrets in namespace {ns}" in later["warning"]
    # Namespace and RuntimeClass reads are not granted: reported unverified, never a failure.
    assert checks[f"Namespace '{ns}'"]["passed"] and checks["RuntimeClass 'gvisor'"]["passed"]
    assert kube.writes() == []


def test_missing_runtime_class_fails_cluster_check_and_deploy_alike(
    admin_kubeconfig: Path, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One decision in both places: the RuntimeClass admission plugin rejects every pod naming a
    RuntimeClass that does not exist, so both refuse and print the exact fix."""
    directory = copy_example("word-counter", tmp_path)
    missing = ("--runtime-class", "no-such-sandbox")
    code, check, _ = tntc(capsys, "cluster", "check", "--dir", str(directory), *missing)
    assert code == 1
    sandbox = next(c for c in check["checks"] if c["name"] == "RuntimeClass 'no-such-sandbox'")
    assert not sandbox["passed"] and '--runtime-class ""' in sandbox["remediation"]
    assert "kubectl apply" in sandbox["remediation"]
    kube.clear_writes()
    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force", *missing)
    assert code == 1 and doc["error"]["code"] == "preflight_failed"
    assert doc["error"]["checks"] == check["checks"]
    assert '--runtime-class ""' in " ".join(doc["hints"])
    assert kube.writes() == []
    code, doc, _ = tntc(capsys, "cluster", "check", "--dir", str(directory), "--runtime-class", "")
    assert code == 0, doc
    (none,) = [c for c in doc["checks"] if c["name"].startswith("RuntimeClass")]
    assert none["passed"] and "without the gVisor sandbox" in none["warning"]


def test_expired_credentials_and_unreachable_cluster(
    control_plane: ControlPlane,
    admin_kubeconfig: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stale = control_plane.kubeconfig(tmp_path / "stale.kubeconfig", token="rotated-long-ago")
    monkeypatch.setenv("KUBECONFIG", str(stale))
    code, doc, _ = tntc(capsys, "list")
    assert code == 1 and doc["error"]["code"] == "cluster_unauthorized"
    assert "expired" in doc["hints"][0]
    gone = stale.read_text().replace(control_plane.server, f"https://127.0.0.1:{free_port()}")
    stale.write_text(gone)
    code, doc, _ = tntc(capsys, "status", "anything")
    assert code == 1 and doc["error"]["code"] == "cluster_unreachable"
    assert "kubectl cluster-info" in doc["hints"][0]


def test_run_returns_result_body_when_workflow_fails(
    admin_kubeconfig: Path, kube: Kube, pod_logs: PodLogs, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tntc(capsys, "deploy", str(failing_workflow(tmp_path)), "--force")[0] == 0
    failure = {"success": False, "outputs": {}, "errors": {"tokenize": "boom"}, "timing": {}}
    pod_logs([json.dumps(failure)])
    code, doc, _ = tntc(capsys, "run", FAILING_WORKFLOW)
    assert code == 1
    assert doc["execution"] == failure
    assert doc["hints"] == [f"check deployment logs with: tntc logs {FAILING_WORKFLOW}"]


def test_run_unreachable_engine_is_a_run_error(
    admin_kubeconfig: Path, kube: Kube, pod_logs: PodLogs, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tntc(capsys, "deploy", str(failing_workflow(tmp_path)), "--force")[0] == 0
    pod_logs([f"POST http://{FAILING_WORKFLOW}.{kube.namespace}.svc:8080/run: connection refused"])
    code, doc, _ = tntc(capsys, "run", FAILING_WORKFLOW)
    assert code == 1 and doc["error"]["code"] == "run_failed"
    assert "connection refused" in doc["summary"]


def test_rollout_timeout_reports_readiness(
    admin_kubeconfig: Path, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("word-counter", tmp_path)
    argv = ("deploy", str(directory), "--force", "--image", NEVER_READY_IMAGE, "--timeout", "2s")
    code, doc, _ = tntc(capsys, *argv)
    assert code == 1 and doc["error"]["code"] == "rollout_timeout", doc
    assert "(ready: 0/1)" in doc["summary"]
    assert f"tntc status word-counter -n {kube.namespace} --detail" in " ".join(doc["hints"])


def test_verify_failure_carries_execution(
    admin_kubeconfig: Path, kube: Kube, pod_logs: PodLogs, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pod_logs([json.dumps({"success": False, "errors": {"x": "401"}})])
    code, doc, _ = tntc(capsys, "deploy", str(failing_workflow(tmp_path)), "--force", "--verify")
    assert code == 1
    assert doc["summary"] == "deploy failed: verification: workflow returned success=false"
    assert doc["execution"]["success"] is False
    # Only hints that apply: --force was given, so no "use --force"; the pods exist, so their logs help.
    assert doc["hints"] == [f"check deployment logs with: tntc logs {FAILING_WORKFLOW}"]
