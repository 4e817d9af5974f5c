"""secret:// references inside $shared files and as an environment's whole secrets_source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.secrets.conftest import tntc_json, write_config


def secret_object(doc: dict) -> dict:
    return next(o for o in doc["objects"] if o["kind"] == "Secret")


def test_shared_file_may_hold_a_reference(
    flow: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = flow.parents[1] / ".secrets"
    shared.mkdir()
    (shared / "gh").write_text("secret://env/TNTC_SHARED_TOKEN\n")
    (flow / ".secrets.yaml").write_text("github:\n  token: $shared.gh\nslack:\n  webhook_url: plain\n")
    monkeypatch.setenv("TNTC_SHARED_TOKEN", "shared-env-token")
    code, doc, _ = tntc_json(capsys, "secrets", "check", str(flow))
    assert code == 0
    assert {k["ref"]: k["source"] for k in doc["keys"]}[
        "github.token"
    ] == "$shared.gh → env:TNTC_SHARED_TOKEN"
    code, doc, _ = tntc_json(capsys, "deploy", str(flow), "--dry-run")
    assert code == 0
    assert doc["secretSources"] == {
        "github.token": "env:TNTC_SHARED_TOKEN",
        "slack.webhook_url": ".secrets.yaml",
    }
    assert secret_object(doc)["data"] == {"github": "<from env:TNTC_SHARED_TOKEN>", "slack": "<masked>"}
    code, doc, _ = tntc_json(capsys, "run", "--local", str(flow), "--no-guard")
    assert code == 0 and doc["execution"]["outputs"]["use"]["tokenLength"] == len("shared-env-token")


def test_environment_secrets_source_may_be_a_provider_document(
    flow: Path, isolated_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export"
    export.mkdir()
    document = {"github": {"token": "doc-token"}, "slack.webhook_url": "doc-hook", "extra": '{"a": "b"}'}
    (export / "prod.json").write_text(json.dumps(document))
    write_config(
        isolated_home,
        {
            "secret_providers": {"files": {"type": "file", "root": str(export)}},
            "environments": {"prod": {"namespace": "prod", "secrets_source": "secret://files/prod.json"}},
        },
    )
    (flow / ".secrets.yaml").write_text("github:\n  token: ignored-local\n")  # replaced by secrets_source
    code, doc, _ = tntc_json(capsys, "deploy", str(flow), "--dry-run", "--env", "prod")
    assert code == 0, doc
    assert doc["secretSources"] == {
        "extra.a": "files:prod.json",
        "github.token": "files:prod.json",
        "slack.webhook_url": "files:prod.json",
    }
    assert set(secret_object(doc)["data"]) == {"extra", "github", "slack"}
    assert "doc-token" not in json.dumps(doc) and "ignored-local" not in json.dumps(doc)
