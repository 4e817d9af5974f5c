"""configure, audit, the dev-environment deploy gate, config_overrides and live tests via the CLI,
on the real control plane (trigger pods complete through kwok; their log is the engine's answer)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tentacular.cli.main import main
from tests.cluster.kube import Kube
from tests.cluster.test_lifecycle import copy_example, tntc


def test_configure_writes_user_and_project_files(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert tntc(capsys, "configure", "--registry", "reg.io", "-n", "team")[0] == 0
    assert (
        tntc(capsys, "configure", "--env", "dev", "--context", "kind-dev", "--override", "debug=true")[0] == 0
    )
    code, doc, _ = tntc(capsys, "configure", "--project", "--env", "dev", "-n", "dev-wf")
    assert code == 0
    user = yaml.safe_load((isolated / ".tentacular" / "config.yaml").read_text())
    assert user == {
        "registry": "reg.io",
        "namespace": "team",
        "environments": {"dev": {"context": "kind-dev", "config_overrides": {"debug": True}}},
    }
    assert doc["effective"]["environments"]["dev"] == {
        "context": "kind-dev",
        "config_overrides": {"debug": True},
        "namespace": "dev-wf",
    }
    code, doc, _ = tntc(capsys, "configure", "--context", "x")
    assert code == 2 and "--env" in doc["summary"]


PodLogs = Callable[[list[str]], None]
PASSED = {"success": True, "outputs": {"count": {"words": 3}}, "errors": {}, "timing": {}}


def test_audit_matches_then_detects_tampering(
    admin_kubeconfig: Path, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("hn-digest", tmp_path)
    assert tntc(capsys, "deploy", str(directory), "--force")[0] == 0
    code, doc, _ = tntc(capsys, "audit", str(directory))
    assert code == 0, doc
    assert doc["audit"]["overall"] == "pass"
    # Someone with kubectl changes three things behind tntc's back (JSON patches, another manager).
    wide_open = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}
    json_patch = "application/json-patch+json"
    kube.patch(
        "networkpolicies",
        "hn-digest-netpol",
        [{"op": "add", "path": "/spec/egress/-", "value": wide_open}],
        content_type=json_patch,
    )
    kube.patch("cronjobs", "hn-digest-cron", {"spec": {"schedule": "* * * * *"}})
    kube.patch(
        "deployments",
        "hn-digest",
        [{"op": "replace", "path": "/spec/template/spec/automountServiceAccountToken", "value": True}],
        content_type=json_patch,
    )
    code, doc, _ = tntc(capsys, "audit", str(directory))
    assert code == 1
    report = doc["audit"]
    assert report["networkPolicy"]["status"] == "mismatch"
    assert report["networkPolicy"]["egress"]["extra"] == [wide_open]
    assert report["cronJobs"]["status"] == "mismatch"
    assert report["deployment"]["differences"] == ["pod automountServiceAccountToken"]


def test_dev_gate_runs_live_test_cleans_up_then_deploys(
    admin_kubeconfig: Path,
    kube: Kube,
    pod_logs: PodLogs,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dev, prod = kube.make_namespace("dev-wf"), kube.make_namespace("prod")
    assert main(["configure", "--env", "dev", "-n", dev, "--override", "story_count=3"]) == 0
    capsys.readouterr()
    pod_logs([json.dumps(PASSED)])
    directory = copy_example("hn-digest", tmp_path)
    code, doc, err = tntc(capsys, "deploy", str(directory), "-n", prod)
    assert code == 0, doc
    assert doc["phases"][1]["name"] == "live-test" and doc["phases"][1]["status"] == "pass"
    assert "Pre-deploy live test passed" in err
    assert kube.objects("deployments", dev) == {}, "dev deployment removed after the gate"
    assert set(kube.objects("deployments", prod)) == {"hn-digest"}
    assert [w.name for w in kube.writes("create", "pods") if w.namespace == dev], "the gate ran a pod in dev"
    (dev_code,) = [w.body for w in kube.writes("patch", "configmaps") if w.namespace == dev]
    assert dev_code is not None
    assert yaml.safe_load(dev_code["data"]["workflow.yaml"])["config"]["story_count"] == 3
    (prod_code,) = [w.body for w in kube.writes("patch", "configmaps") if w.namespace == prod]
    assert prod_code is not None
    assert yaml.safe_load(prod_code["data"]["workflow.yaml"])["config"]["story_count"] == 10

    pod_logs([json.dumps({"success": False, "errors": {"a": "b"}})])
    code, doc, _ = tntc(capsys, "deploy", str(directory), "-n", prod)
    assert code == 1
    assert doc["summary"].startswith("deploy failed: pre-deploy live test")
    assert "use --force to skip pre-deploy live test" in doc["hints"]


def test_live_test_envelope_and_cleanup(
    admin_kubeconfig: Path,
    kube: Kube,
    pod_logs: PodLogs,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dev = kube.make_namespace("dev-wf")
    assert main(["configure", "--env", "dev", "-n", dev]) == 0
    capsys.readouterr()
    pod_logs([json.dumps(PASSED)])
    directory = copy_example("word-counter", tmp_path)
    code, doc, _ = tntc(capsys, "test", str(directory), "--live")
    assert code == 0, doc
    assert doc["command"] == "test" and doc["execution"]["success"] is True
    assert [p["name"] for p in doc["phases"]][-2:] == ["verify", "cleanup"]
    assert kube.objects("deployments", dev) == {}
    applied = {w.resource for w in kube.writes("patch") if w.namespace == dev}
    assert {"configmaps", "deployments"} <= applied


def test_audit_checks_the_webhook_route_and_undeploy_removes_it(
    admin_kubeconfig: Path, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("hn-digest", tmp_path)
    spec = yaml.safe_load((directory / "workflow.yaml").read_text())
    spec["triggers"].append({"type": "webhook", "provider": "github", "event": "push"})
    spec.setdefault("deployment", {})["webhook"] = {"host": "hooks.example.com", "className": "nginx"}
    (directory / "workflow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    assert tntc(capsys, "deploy", str(directory), "--force")[0] == 0
    ingress = kube.get("ingresses", "hn-digest-webhook")
    assert ingress is not None
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/webhook/"
    code, doc, _ = tntc(capsys, "audit", str(directory))
    assert code == 0 and doc["audit"]["webhookRoute"]["status"] == "match", doc
    kube.patch(
        "ingresses",
        "hn-digest-webhook",
        [{"op": "replace", "path": "/spec/rules/0/http/paths/0/path", "value": "/"}],
        content_type="application/json-patch+json",
    )
    code, doc, _ = tntc(capsys, "audit", str(directory))
    assert code == 1 and doc["audit"]["webhookRoute"]["status"] == "mismatch"
    assert tntc(capsys, "undeploy", "hn-digest", "--yes")[0] == 0
    assert kube.get("ingresses", "hn-digest-webhook") is None
