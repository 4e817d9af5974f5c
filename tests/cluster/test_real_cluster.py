"""The real control plane itself, and one workflow's deploy → Ready → logs → undeploy on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cluster.control_plane import ControlPlane
from tests.cluster.kube import EditDeployer, Kube
from tests.cluster.test_lifecycle import copy_example, tntc


def test_namespaces_enforce_the_restricted_profile(kube: Kube) -> None:
    unhardened = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "unhardened"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    response = kube.api.post(kube.path("pods"), json=unhardened)
    assert response.status_code == 403, response.text
    assert 'violates PodSecurity "restricted:latest"' in response.json()["message"]


def test_edit_deployer_holds_edit_in_its_namespace_only(
    control_plane: ControlPlane, kube: Kube, edit_deployer: EditDeployer
) -> None:
    edit_deployer("team")
    from tests.cluster.kube import service_account_token

    token = service_account_token(control_plane, kube.namespace, "team")
    with control_plane.client(token) as api:
        assert api.get(f"/apis/apps/v1/namespaces/{kube.namespace}/deployments").status_code == 200
        assert api.get("/apis/apps/v1/namespaces/default/deployments").status_code == 403
        assert api.get("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings").status_code == 403
        me = api.post(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        ).json()
    assert me["status"]["userInfo"]["username"] == f"system:serviceaccount:{kube.namespace}:team"


def test_deploy_as_admin_reaches_ready_through_kwok_and_serves_logs(
    admin_kubeconfig: Path,
    kube: Kube,
    pod_logs: Callable[[list[str]], None],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    directory = copy_example("word-counter", tmp_path)
    code, doc, err = tntc(capsys, "deploy", str(directory), "--force")
    assert code == 0, (doc, err)
    assert doc["summary"] == f"deployed word-counter to {kube.namespace}"
    assert {m["action"] for m in doc["manifests"]} == {"created"}

    deployment = kube.get("deployments", "word-counter")
    assert deployment is not None and deployment["status"]["readyReplicas"] == 1
    (pod,) = kube.objects("pods", **{"app.kubernetes.io/name": "word-counter"}).values()
    assert pod["status"]["phase"] == "Running" and pod["spec"]["nodeName"] == "kwok-node-0"
    assert pod["spec"]["runtimeClassName"] == "gvisor"

    code, doc, _ = tntc(capsys, "status", "word-counter", "--detail")
    assert code == 0 and doc["workflow"]["ready"] is True

    pod_logs(["engine started", "GET /health 200", "POST /run 200"])
    code, doc, _ = tntc(capsys, "logs", "word-counter", "--tail", "2")
    assert code == 0, doc
    assert doc["lines"] == ["GET /health 200", "POST /run 200"]

    code, doc, _ = tntc(capsys, "undeploy", "word-counter", "--yes")
    assert code == 0 and "Deployment/word-counter" in doc["removed"]
    assert kube.get("deployments", "word-counter") is None
    kube.wait_for("the workflow's pods to go", lambda: not kube.objects("pods"))
