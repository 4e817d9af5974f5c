"""`tntc run <name>` right after `tntc deploy --no-wait` waits for the Deployment (issue 10, Build 6),
on the real control plane: the pods start on an image kwok never readies, and the run only
proceeds once someone fixes the image and the real rollout completes."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cluster.kube import NEVER_READY_IMAGE, Kube
from tests.cluster.test_lifecycle import copy_example, tntc


def test_run_waits_for_the_deployment_to_be_ready(
    admin_kubeconfig: Path,
    kube: Kube,
    pod_logs: Callable[[list[str]], None],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    directory = copy_example("word-counter", tmp_path)
    argv = ("deploy", str(directory), "--force", "--no-wait", "--image", NEVER_READY_IMAGE)
    assert tntc(capsys, *argv)[0] == 0
    deployment = kube.get("deployments", "word-counter")
    assert deployment is not None and not deployment["status"].get("readyReplicas")
    result = {"success": True, "outputs": {"echo": {"text": "hi"}}, "errors": {}, "timing": {}}
    pod_logs([json.dumps(result)])

    def fix_the_image() -> None:  # what the user does in another terminal while run waits
        kube.wait_for("run to start waiting", lambda: kube.objects("replicasets"), timeout=30)
        containers = deployment["spec"]["template"]["spec"]["containers"]
        patch = [{"name": c["name"], "image": "tentacular-engine:fixed"} for c in containers]
        kube.patch(
            "deployments",
            "word-counter",
            {"spec": {"template": {"spec": {"containers": patch}}}},
            content_type="application/strategic-merge-patch+json",
        )

    fixer = threading.Timer(1.0, fix_the_image)
    fixer.start()
    try:
        code, doc, err = tntc(capsys, "run", "word-counter", "--input", '{"text": "hi"}')
    finally:
        fixer.join()
    assert code == 0, doc
    assert doc["status"] == "pass" and doc["summary"] == "workflow word-counter completed"
    assert doc["execution"]["outputs"] == {"echo": {"text": "hi"}}
    assert "Deployment ready (1/1)" in err
    (run_pod,) = kube.writes("create", "pods")
    assert run_pod.body is not None
    assert run_pod.body["spec"]["containers"][0]["image"] == "tentacular-engine:fixed"


def test_run_of_a_deployment_that_never_gets_ready_times_out_on_readiness(
    admin_kubeconfig: Path, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("word-counter", tmp_path)
    argv = ("deploy", str(directory), "--force", "--no-wait", "--image", NEVER_READY_IMAGE)
    assert tntc(capsys, *argv)[0] == 0
    code, doc, _ = tntc(capsys, "run", "word-counter", "--timeout", "2s")
    assert code == 1
    assert doc["error"]["code"] == "rollout_timeout"
    assert doc["summary"].startswith(
        "timed out waiting for deployment word-counter to become ready (ready: 0/1)"
    )
    assert "tntc status word-counter" in doc["error"]["hint"]
    assert kube.writes("create", "pods") == [], "no run pod was started"
