"""deploy, secrets diff and secrets sync against the cluster fixture never print a value resolved
through any provider, in any encoding (issue 16); the values do reach the cluster's Secret."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.cluster.kube import Kube
from tests.secrets.servers import AwsEndpoint, OpenBao, moto_server, openbao
from tests.secrets.test_no_leaks import VALUES, assert_clean, prepare_leaky_flow, run_cli

__all__ = ["moto_server", "openbao"]


def test_cluster_commands_never_show_resolved_values(
    admin_kubeconfig: Path,
    kube: Kube,
    isolated: Path,
    tmp_path: Path,
    openbao: OpenBao,
    moto_server: AwsEndpoint,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    flow = str(prepare_leaky_flow(tmp_path, isolated, openbao, moto_server, monkeypatch))
    for argv in (
        ("deploy", flow, "--force", "--runtime-class", ""),
        ("deploy", flow, "--force", "--runtime-class", "", "-o", "json"),
        ("secrets", "diff", flow),
        ("secrets", "diff", flow, "-o", "json"),
        ("secrets", "sync", flow),
        ("secrets", "sync", flow, "-o", "json"),
    ):
        code, text = run_cli(capsys, *argv)
        assert code == 0, (argv, text)
        assert_clean(" ".join(argv), text)
    code, text = run_cli(capsys, "deploy", flow, "--force", "--runtime-class", "")
    assert "secret github.token resolved from vault:secret/leak#token" in text
    secret = kube.get("secrets", "secret-flow-secrets")
    assert secret is not None  # the values are where they belong: in the cluster's Secret
    assert json.loads(base64.b64decode(secret["data"]["github"])) == {"token": VALUES["vault"]}
    sources = json.loads(secret["metadata"]["annotations"]["tentacular.io/secret-sources"])
    assert sources == {
        "dotenv.key": "dotenv:LEAK_DOTENV",
        "fromenv.key": "env:TNTC_LEAK_ENV",
        "github.token": "vault:secret/leak#token",
        "localfile.key": "files:leak.txt",
        "sm.key": "aws-sm:leak-sm#key",
        "ssm.key": "ssm:leak/ssm",
    }
