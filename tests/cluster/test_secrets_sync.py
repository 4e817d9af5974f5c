"""`tntc secrets sync` / `tntc secrets diff` against the cluster fixture (issue 16)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.cluster.kube import Kube
from tests.cluster.test_lifecycle import replica_sets, tntc, versions
from tests.secrets.conftest import make_flow

HASH = "tentacular.io/secrets-hash"
SECRETS = "github:\n  token: tok-AAAA-1111\nslack:\n  webhook_url: https://hooks.example/one\n"


def pods(kube: Kube) -> set[str]:
    return set(kube.objects("pods", **{"app.kubernetes.io/name": "secret-flow"}))


def cluster_secret(kube: Kube) -> dict[str, object]:
    secret = kube.get("secrets", "secret-flow-secrets")
    assert secret is not None
    return {k: json.loads(base64.b64decode(v)) for k, v in secret["data"].items()}


@pytest.fixture
def deployed(admin_kubeconfig: Path, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    flow = make_flow(tmp_path)
    (flow / ".secrets.yaml").write_text(SECRETS)
    code, doc, _ = tntc(capsys, "deploy", str(flow), "--force")
    assert code == 0, doc
    return flow


def test_diff_reports_each_key_never_a_value(
    deployed: Path, kube: Kube, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, _ = tntc(capsys, "secrets", "diff", str(deployed))
    assert code == 0 and doc["status"] == "pass"
    assert doc["keys"] == [
        {"ref": "github.token", "status": "same"},
        {"ref": "slack.webhook_url", "status": "same"},
    ]

    (deployed / ".secrets.yaml").write_text("github:\n  token: tok-BBBB-2222\n  org: acme-org\n")
    code, doc, err = tntc(capsys, "secrets", "diff", str(deployed))
    assert code == 1 and doc["summary"] == f"secret-flow-secrets in {kube.namespace}: 3 key(s) differ"
    assert doc["keys"] == [
        {"ref": "github.org", "status": "only-local"},
        {"ref": "github.token", "status": "differs"},
        {"ref": "slack.webhook_url", "status": "only-cluster"},
    ]
    everything = json.dumps(doc) + err
    for value in ("tok-AAAA-1111", "tok-BBBB-2222", "acme-org", "hooks.example"):
        assert value not in everything


def test_sync_rolls_only_when_content_changed(
    deployed: Path, kube: Kube, capsys: pytest.CaptureFixture[str]
) -> None:
    before_pods = pods(kube)
    assert len(before_pods) == 1
    kube.clear_writes()

    # Unchanged: nothing is written at all.
    code, doc, _ = tntc(capsys, "secrets", "sync", str(deployed))
    assert code == 0 and doc["changed"] is False and doc["rolled"] is False, doc
    assert doc["summary"] == f"{kube.namespace}/secret-flow-secrets already in sync; nothing changed"
    assert kube.writes() == []
    assert len(replica_sets(kube, "secret-flow")) == 1

    # A changed key: the Secret alone is applied, then the Deployment's pod template rolls.
    (deployed / ".secrets.yaml").write_text(SECRETS.replace("tok-AAAA-1111", "tok-CCCC-3333"))
    configmaps_before = versions(kube.objects("configmaps"))
    code, doc, _ = tntc(capsys, "secrets", "sync", str(deployed))
    assert code == 0 and doc["changed"] is True and doc["rolled"] is True, doc
    writes = kube.writes()
    assert [(w.verb, w.resource) for w in writes] == [("patch", "secrets"), ("patch", "deployments")]
    assert writes[0].query["fieldManager"] == "tntc"  # the same owner as tntc deploy
    assert writes[1].query["fieldManager"] != "tntc"  # a restart annotation, not an apply
    assert cluster_secret(kube)["github"] == {"token": "tok-CCCC-3333"}
    assert versions(kube.objects("configmaps")) == configmaps_before
    deployment = kube.get("deployments", "secret-flow")
    assert deployment is not None
    first_hash = deployment["spec"]["template"]["metadata"]["annotations"][HASH]
    kube.wait_for("the restart's new ReplicaSet", lambda: len(replica_sets(kube, "secret-flow")) == 2)
    kube.wait_for("the pod to be replaced", lambda: pods(kube) and not pods(kube) & before_pods)

    # Synced again with the same content: no write, no roll, same hash.
    kube.clear_writes()
    code, doc, _ = tntc(capsys, "secrets", "sync", str(deployed))
    assert code == 0 and doc["rolled"] is False and kube.writes() == []
    deployment = kube.get("deployments", "secret-flow")
    assert (
        deployment is not None
        and deployment["spec"]["template"]["metadata"]["annotations"][HASH] == first_hash
    )
    code, doc, _ = tntc(capsys, "secrets", "diff", str(deployed))
    assert code == 0 and {k["status"] for k in doc["keys"]} == {"same"}


def test_sync_needs_a_deployed_workflow(
    admin_kubeconfig: Path, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = make_flow(tmp_path)
    (flow / ".secrets.yaml").write_text(SECRETS)
    code, doc, _ = tntc(capsys, "secrets", "sync", str(flow))
    assert code == 1 and doc["error"]["code"] == "cluster_not_found"
    assert "tntc deploy" in doc["error"]["hint"]
    assert kube.writes() == []
