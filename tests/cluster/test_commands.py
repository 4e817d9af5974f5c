"""configure, audit, the dev-environment deploy gate, config_overrides and live tests via the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tentacular.cli.main import main
from tests.cluster.emulator import KubeEmulator
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


def test_audit_matches_then_detects_tampering(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("hn-digest", tmp_path)
    assert tntc(capsys, "deploy", str(directory), "--force")[0] == 0
    code, doc, _ = tntc(capsys, "audit", str(directory))
    assert code == 0, doc
    assert doc["audit"]["overall"] == "pass"
    netpol = emulator.store[("networkpolicies", "default", "hn-digest-netpol")]
    netpol["spec"]["egress"].append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]})
    cron = emulator.store[("cronjobs", "default", "hn-digest-cron")]
    cron["spec"]["schedule"] = "* * * * *"
    deployment = emulator.store[("deployments", "default", "hn-digest")]
    deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] = True
    code, doc, _ = tntc(capsys, "audit", str(directory))
    assert code == 1
    report = doc["audit"]
    assert report["networkPolicy"]["status"] == "mismatch"
    assert report["networkPolicy"]["egress"]["extra"] == [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]
    assert report["cronJobs"]["status"] == "mismatch"
    assert report["deployment"]["differences"] == ["pod automountServiceAccountToken"]


def test_dev_gate_runs_live_test_cleans_up_then_deploys(
    emulator: KubeEmulator,
    kubeconfig: Path,
    isolated: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emulator.add_namespace("dev-wf")
    emulator.add_namespace("prod")
    assert main(["configure", "--env", "dev", "-n", "dev-wf", "--override", "story_count=3"]) == 0
    capsys.readouterr()
    directory = copy_example("hn-digest", tmp_path)
    code, doc, err = tntc(capsys, "deploy", str(directory), "-n", "prod")
    assert code == 0, doc
    assert doc["phases"][1]["name"] == "live-test" and doc["phases"][1]["status"] == "pass"
    assert "Pre-deploy live test passed" in err
    assert emulator.objects("deployments", "dev-wf") == {}, "dev deployment removed after the gate"
    assert set(emulator.objects("deployments", "prod")) == {"hn-digest"}
    dev_code = next(
        r.body
        for r in emulator.calls("PATCH", "configmaps")
        if r.path.startswith("/api/v1/namespaces/dev-wf/")
    )
    assert yaml.safe_load(dev_code["data"]["workflow.yaml"])["config"]["story_count"] == 3

    emulator.run_handler = lambda ns, wf, body: (500, {"success": False, "errors": {"a": "b"}})
    code, doc, _ = tntc(capsys, "deploy", str(directory), "-n", "prod")
    assert code == 1
    assert doc["summary"].startswith("deploy failed: pre-deploy live test")
    assert "use --force to skip pre-deploy live test" in doc["hints"]


def test_live_test_envelope_and_cleanup(
    emulator: KubeEmulator,
    kubeconfig: Path,
    isolated: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emulator.add_namespace("dev-wf")
    assert main(["configure", "--env", "dev", "-n", "dev-wf"]) == 0
    capsys.readouterr()
    directory = copy_example("word-counter", tmp_path)
    code, doc, _ = tntc(capsys, "test", str(directory), "--live")
    assert code == 0, doc
    assert doc["command"] == "test" and doc["execution"]["success"] is True
    assert [p["name"] for p in doc["phases"]][-2:] == ["verify", "cleanup"]
    assert emulator.objects("deployments", "dev-wf") == {}


def test_audit_checks_the_webhook_route_and_undeploy_removes_it(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("hn-digest", tmp_path)
    spec = yaml.safe_load((directory / "workflow.yaml").read_text())
    spec["triggers"].append({"type": "webhook", "provider": "github", "event": "push"})
    spec.setdefault("deployment", {})["webhook"] = {"host": "hooks.example.com", "className": "nginx"}
    (directory / "workflow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    assert tntc(capsys, "deploy", str(directory), "--force")[0] == 0
    ingress = emulator.store[("ingresses", "default", "hn-digest-webhook")]
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/webhook/"
    code, doc, _ = tntc(capsys, "audit", str(directory))
    assert code == 0 and doc["audit"]["webhookRoute"]["status"] == "match", doc
    ingress["spec"]["rules"][0]["http"]["paths"][0]["path"] = "/"
    code, doc, _ = tntc(capsys, "audit", str(directory))
    assert code == 1 and doc["audit"]["webhookRoute"]["status"] == "mismatch"
    assert tntc(capsys, "undeploy", "hn-digest", "--yes")[0] == 0
    assert ("ingresses", "default", "hn-digest-webhook") not in emulator.store
