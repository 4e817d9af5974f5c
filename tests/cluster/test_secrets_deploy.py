"""`tntc deploy` refuses missing required secrets before anything is applied (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.emulator import KubeEmulator
from tests.cluster.test_lifecycle import tntc
from tests.secrets.conftest import make_flow


def test_deploy_refuses_missing_secrets_and_applies_nothing(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = make_flow(tmp_path)
    (flow / ".secrets.yaml").write_text("github:\n  token: present\n")
    code, doc, _ = tntc(capsys, "deploy", str(flow), "--force")
    assert code == 1 and doc["status"] == "fail"
    assert doc["error"]["code"] == "secrets_missing"
    assert doc["error"]["missing"] == ["slack.webhook_url"]
    assert "--allow-missing-secrets" in " ".join(doc["hints"])
    assert emulator.calls("PATCH") == [] and emulator.calls("POST") == []


def test_allow_missing_secrets_deploys_with_a_warning(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = make_flow(tmp_path)
    (flow / ".secrets.yaml").write_text("github:\n  token: present\n")
    code, doc, _ = tntc(capsys, "deploy", str(flow), "--force", "--allow-missing-secrets")
    assert code == 0, doc
    assert doc["warnings"] == [
        "required secret(s) not provisioned (--allow-missing-secrets): slack.webhook_url"
    ]
    secret = emulator.get("secrets", "default", "secret-flow-secrets")
    assert secret is not None
    assert (
        secret["metadata"]["annotations"]["tentacular.io/secret-sources"]
        == '{"github.token":".secrets.yaml"}'
    )
