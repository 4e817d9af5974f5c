"""`tntc deploy` refuses missing required secrets before anything is applied (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.kube import Kube
from tests.cluster.test_lifecycle import tntc
from tests.secrets.conftest import make_flow, write_config


def test_deploy_refuses_missing_secrets_and_applies_nothing(
    admin_kubeconfig: Path, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = make_flow(tmp_path)
    (flow / ".secrets.yaml").write_text("github:\n  token: present\n")
    code, doc, _ = tntc(capsys, "deploy", str(flow), "--force")
    assert code == 1 and doc["status"] == "fail"
    assert doc["error"]["code"] == "secrets_missing"
    assert doc["error"]["missing"] == ["slack.webhook_url"]
    assert "--allow-missing-secrets" in " ".join(doc["hints"])
    assert kube.writes() == []


def test_allow_missing_secrets_deploys_with_a_warning(
    admin_kubeconfig: Path, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = make_flow(tmp_path)
    (flow / ".secrets.yaml").write_text("github:\n  token: present\n")
    code, doc, _ = tntc(capsys, "deploy", str(flow), "--force", "--allow-missing-secrets")
    assert code == 0, doc
    assert doc["warnings"] == [
        "required secret(s) not provisioned (--allow-missing-secrets): slack.webhook_url"
    ]
    assert doc["secretSources"] == {"github.token": ".secrets.yaml"}
    secret = kube.get("secrets", "secret-flow-secrets")
    assert secret is not None
    assert (
        secret["metadata"]["annotations"]["tentacular.io/secret-sources"]
        == '{"github.token":".secrets.yaml"}'
    )


@pytest.mark.parametrize(
    ("secrets_yaml", "config", "code", "message"),
    [
        (
            "github:\n  token: $shared.absent\nslack:\n  webhook_url: x\n",
            {},
            2,
            'shared secret "$shared.absent"',
        ),
        (
            "github:\n  token: secret://vlt/kv/app#t\nslack:\n  webhook_url: x\n",
            {},
            1,
            'secret provider "vlt"',
        ),
        (
            "github:\n  token: secret:/vault/kv\nslack:\n  webhook_url: x\n",
            {},
            2,
            "is not a secret:// reference",
        ),
        (
            "github:\n  token: secret://env/HOME\nslack:\n  webhook_url: x\n",
            {"environments": {"prod": {"namespace": "default", "allowed_secret_providers": ["vault"]}}},
            1,
            'provider "env" is not allowed by environment "prod"',
        ),
        (
            "github:\n  token: secret://vault/secret/app#token\nslack:\n  webhook_url: x\n",
            {"secret_providers": {"vault": {"type": "vault", "address": "http://127.0.0.1:9", "token": "t"}}},
            1,
            'cannot resolve secret://vault/secret/app#token (provider "vault")',
        ),
    ],
)
def test_unresolvable_secrets_stop_the_deploy_before_anything_is_applied(
    admin_kubeconfig: Path,
    kube: Kube,
    isolated: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    secrets_yaml: str,
    config: dict[str, object],
    code: int,
    message: str,
) -> None:
    flow = make_flow(tmp_path)
    (flow / ".secrets.yaml").write_text(secrets_yaml)
    if config:
        write_config(isolated, config)
    argv = ["deploy", str(flow), "--force", *(["--env", "prod"] if "environments" in config else [])]
    exit_code, doc, _ = tntc(capsys, *argv)
    assert exit_code == code, doc
    assert message in doc["summary"], doc
    assert kube.writes() == []
