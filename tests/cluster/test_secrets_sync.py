"""`tntc secrets sync` / `tntc secrets diff` against the cluster fixture (issue 16)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.cluster.emulator import KubeEmulator
from tests.cluster.test_lifecycle import tntc
from tests.secrets.conftest import make_flow

HASH = "tentacular.io/secrets-hash"
SECRETS = "github:\n  token: tok-AAAA-1111\nslack:\n  webhook_url: https://hooks.example/one\n"


def pods(emulator: KubeEmulator) -> set[str]:
    return set(emulator.objects("pods", "default"))


def cluster_secret(emulator: KubeEmulator) -> dict[str, object]:
    secret = emulator.get("secrets", "default", "secret-flow-secrets")
    assert secret is not None
    return {k: json.loads(base64.b64decode(v)) for k, v in secret["data"].items()}


@pytest.fixture
def deployed(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Path:
    flow = make_flow(tmp_path)
    (flow / ".secrets.yaml").write_text(SECRETS)
    code, doc, _ = tntc(capsys, "deploy", str(flow), "--force")
    assert code == 0, doc
    return flow


def test_diff_reports_each_key_never_a_value(
    deployed: Path, emulator: KubeEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, _ = tntc(capsys, "secrets", "diff", str(deployed))
    assert code == 0 and doc["status"] == "pass"
    assert doc["keys"] == [
        {"ref": "github.token", "status": "same"},
        {"ref": "slack.webhook_url", "status": "same"},
    ]

    (deployed / ".secrets.yaml").write_text("github:\n  token: tok-BBBB-2222\n  org: acme-org\n")
    code, doc, err = tntc(capsys, "secrets", "diff", str(deployed))
    assert code == 1 and doc["summary"] == "secret-flow-secrets in default: 3 key(s) differ"
    assert doc["keys"] == [
        {"ref": "github.org", "status": "only-local"},
        {"ref": "github.token", "status": "differs"},
        {"ref": "slack.webhook_url", "status": "only-cluster"},
    ]
    everything = json.dumps(doc) + err
    for value in ("tok-AAAA-1111", "tok-BBBB-2222", "acme-org", "hooks.example"):
        assert value not in everything


def test_sync_rolls_only_when_content_changed(
    deployed: Path, emulator: KubeEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    before_pods = pods(emulator)
    rollouts = emulator.sim.rollouts["secret-flow"]
    emulator.clear_requests()

    # Unchanged: nothing is written at all.
    code, doc, _ = tntc(capsys, "secrets", "sync", str(deployed))
    assert code == 0 and doc["changed"] is False and doc["rolled"] is False, doc
    assert doc["summary"] == "default/secret-flow-secrets already in sync; nothing changed"
    assert emulator.calls("PATCH") == []
    assert emulator.sim.rollouts["secret-flow"] == rollouts

    # A changed key: the Secret alone is applied, then the Deployment's pod template rolls.
    (deployed / ".secrets.yaml").write_text(SECRETS.replace("tok-AAAA-1111", "tok-CCCC-3333"))
    configmaps_before = emulator.objects("configmaps", "default")
    assert any(name.startswith("secret-flow-code-") for name in configmaps_before)
    code, doc, _ = tntc(capsys, "secrets", "sync", str(deployed))
    assert code == 0 and doc["changed"] is True and doc["rolled"] is True, doc
    patches = emulator.calls("PATCH")
    assert [(p.path.rsplit("/", 2)[-2], p.content_type) for p in patches] == [
        ("secrets", "application/apply-patch+yaml"),
        ("deployments", "application/strategic-merge-patch+json"),
    ]
    assert patches[0].query["fieldManager"] == "tntc"  # the same owner as tntc deploy
    assert cluster_secret(emulator)["github"] == {"token": "tok-CCCC-3333"}
    assert emulator.objects("configmaps", "default") == configmaps_before
    deployment = emulator.get("deployments", "default", "secret-flow")
    assert deployment is not None
    first_hash = deployment["spec"]["template"]["metadata"]["annotations"][HASH]
    assert emulator.sim.rollouts["secret-flow"] == rollouts + 1
    for _ in range(20):  # the emulated rollout replaces pods as the Deployment is read
        tntc(capsys, "status", "secret-flow")
        if pods(emulator) and not pods(emulator) & before_pods:
            break
    assert pods(emulator) and not pods(emulator) & before_pods, "the pod was not rolled"

    # Synced again with the same content: no write, no roll, same hash.
    emulator.clear_requests()
    code, doc, _ = tntc(capsys, "secrets", "sync", str(deployed))
    assert code == 0 and doc["rolled"] is False and emulator.calls("PATCH") == []
    deployment = emulator.get("deployments", "default", "secret-flow")
    assert (
        deployment is not None
        and deployment["spec"]["template"]["metadata"]["annotations"][HASH] == first_hash
    )
    code, doc, _ = tntc(capsys, "secrets", "diff", str(deployed))
    assert code == 0 and {k["status"] for k in doc["keys"]} == {"same"}


def test_sync_needs_a_deployed_workflow(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = make_flow(tmp_path)
    (flow / ".secrets.yaml").write_text(SECRETS)
    code, doc, _ = tntc(capsys, "secrets", "sync", str(flow))
    assert code == 1 and doc["error"]["code"] == "cluster_not_found"
    assert "tntc deploy" in doc["error"]["hint"]
    assert emulator.calls("PATCH") == []
