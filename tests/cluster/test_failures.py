"""Partial applies, preflight stops, API errors, run failures and rollout timeouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.emulator import KubeEmulator
from tests.cluster.test_lifecycle import copy_example, tntc


def test_failure_halfway_keeps_previous_version_and_rerun_converges(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("hn-digest", tmp_path)
    assert tntc(capsys, "deploy", str(directory), "--force")[0] == 0
    serving = emulator.get("deployments", "default", "hn-digest")
    node = directory / "nodes" / "filter_stories.py"
    node.write_text(node.read_text() + "\n# v2\n")
    emulator.fail("PATCH", "deployments", "hn-digest", status=500, message="etcdserver: request timed out")

    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force")
    assert code == 1
    assert doc["status"] == "fail"
    assert doc["error"]["code"] == "apply_incomplete"
    assert doc["error"]["failed"] == "Deployment/hn-digest"
    assert any(ref.startswith("ConfigMap/hn-digest-code-1.0-") for ref in doc["error"]["applied"])
    assert [p["status"] for p in doc["phases"] if p["name"] == "apply"] == ["fail"]
    assert emulator.get("deployments", "default", "hn-digest") == serving

    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force")
    assert code == 0
    changed = {m["object"] for m in doc["manifests"] if m["action"] != "unchanged"}
    assert changed == {"Deployment/hn-digest"}


def test_missing_namespace_stops_before_apply_and_fix_creates_it(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("word-counter", tmp_path)
    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force", "-n", "prod")
    assert code == 1 and doc["error"]["code"] == "preflight_failed"
    assert any("--fix -n prod" in hint for hint in doc["hints"])
    # Only hints that apply: --force was given and nothing reached the cluster (Build 4).
    assert not any("--force" in hint or "tntc logs" in hint for hint in doc["hints"]), doc["hints"]
    assert emulator.calls("PATCH") == []

    code, doc, _ = tntc(capsys, "cluster", "check", "-n", "prod")
    assert code == 1 and doc["status"] == "fail"
    code, doc, _ = tntc(capsys, "cluster", "check", "--fix", "-n", "prod")
    assert code == 0, doc
    assert "Namespace 'prod' (auto-created)" in [c["name"] for c in doc["checks"]]
    assert "prod" in emulator.objects("namespaces")
    assert tntc(capsys, "deploy", str(directory), "--force", "-n", "prod")[0] == 0


def test_rbac_denied_stops_before_apply(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.denied |= {("create", "cronjobs"), ("delete", "secrets")}
    directory = copy_example("word-counter", tmp_path)
    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force")
    assert code == 1 and doc["error"]["code"] == "preflight_failed"
    rbac = next(c for c in doc["error"]["checks"] if c["name"] == "RBAC permissions")
    assert "create cronjobs" in rbac["remediation"] and "delete secrets" in rbac["remediation"]
    assert emulator.calls("PATCH") == []


def test_missing_runtime_class_is_a_warning_for_cluster_check_but_fails_deploy(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.store.pop(("runtimeclasses", "", "gvisor"))
    code, doc, _ = tntc(capsys, "cluster", "check")
    assert code == 0
    gvisor = next(c for c in doc["checks"] if c["name"].startswith("RuntimeClass"))
    assert gvisor["passed"] and "not found" in gvisor["warning"]
    code, doc, _ = tntc(capsys, "deploy", str(copy_example("word-counter", tmp_path)), "--force")
    assert code == 1 and 'runtime-class ""' in " ".join(doc["hints"])


def test_expired_credentials_and_unreachable_cluster(
    emulator: KubeEmulator,
    kubeconfig: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator.token = "rotated"
    code, doc, _ = tntc(capsys, "list")
    assert code == 1 and doc["error"]["code"] == "cluster_unauthorized"
    assert "expired" in doc["hints"][0]
    emulator.stop()
    code, doc, _ = tntc(capsys, "status", "anything")
    assert code == 1 and doc["error"]["code"] == "cluster_unreachable"
    assert "kubectl cluster-info" in doc["hints"][0]


def test_run_returns_result_body_when_workflow_fails(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tntc(capsys, "deploy", str(copy_example("word-counter", tmp_path)), "--force")[0] == 0
    failure = {"success": False, "outputs": {}, "errors": {"tokenize": "boom"}, "timing": {}}
    emulator.run_handler = lambda ns, wf, body: (500, failure)
    code, doc, _ = tntc(capsys, "run", "word-counter")
    assert code == 1
    assert doc["execution"] == failure
    assert doc["hints"] == ["check deployment logs with: tntc logs word-counter"]


def test_run_unreachable_engine_is_a_run_error(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tntc(capsys, "deploy", str(copy_example("word-counter", tmp_path)), "--force")[0] == 0
    emulator.run_handler = lambda ns, wf, body: None
    code, doc, _ = tntc(capsys, "run", "word-counter")
    assert code == 1 and doc["error"]["code"] == "run_failed"
    assert "connection refused" in doc["summary"]


def test_rollout_timeout_reports_readiness(
    emulator: KubeEmulator,
    kubeconfig: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    clock: object,
) -> None:
    emulator.never_ready.add("word-counter")
    code, doc, _ = tntc(capsys, "deploy", str(copy_example("word-counter", tmp_path)), "--force")
    assert code == 1 and doc["error"]["code"] == "rollout_timeout"
    assert "(ready: 0/1)" in doc["summary"]
    assert sum(clock.slept) >= 120  # type: ignore[attr-defined]


def test_verify_failure_carries_execution(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.run_handler = lambda ns, wf, body: (500, {"success": False, "errors": {"x": "401"}})
    code, doc, _ = tntc(capsys, "deploy", str(copy_example("word-counter", tmp_path)), "--force", "--verify")
    assert code == 1
    assert doc["summary"] == "deploy failed: verification: workflow returned success=false"
    assert doc["execution"]["success"] is False
    # Only hints that apply: --force was given, so no "use --force"; the pods exist, so their logs help.
    assert doc["hints"] == ["check deployment logs with: tntc logs word-counter"]
