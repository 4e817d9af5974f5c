"""The Secret manifest (D5, Q38) and ``tntc deploy --dry-run``: complete, ordered, masked."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tentacular.cli.main import main
from tentacular.deploy._labels import standard_labels
from tentacular.deploy._manifests import APPLY_ORDER, ManifestOptions, build_manifests
from tentacular.deploy._secret_manifest import MASK, secret_file_content
from tentacular.deploy._settings import default_engine_image
from tentacular.engine._secrets import load_directory
from tentacular.spec import LoadedWorkflow
from tests.conftest import EXAMPLES
from tests.deploy.conftest import (
    FULL_NODE_FILES,
    FULL_SECRETS,
    FULL_WORKFLOW,
    SECRET_PASSWORD,
    SECRET_TOKEN,
    SECRET_WEBHOOK,
    write_tree,
)


@pytest.mark.parametrize(
    ("keys", "content"),
    [
        ({"value": "plain-string"}, "plain-string"),
        ({"value": 42}, "42"),
        ({"value": ["a", 1]}, '["a", 1]'),
        ({"token": "t"}, '{"token":"t"}'),
        ({"b": 2, "a": {"nested": [True, None]}}, '{"a":{"nested":[true,null]},"b":2}'),
    ],
)
def test_service_file_content(keys: dict[str, Any], content: str) -> None:
    assert secret_file_content(keys) == content


def test_secret_volume_reads_back_as_the_same_secrets(full_workflow: LoadedWorkflow, tmp_path: Path) -> None:
    secrets = {**FULL_SECRETS, "slack": {"value": "https://hooks.example/x"}}
    objects = build_manifests(full_workflow, ManifestOptions(secrets=secrets))
    secret = next(o for o in objects if o["kind"] == "Secret")
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    for service, encoded in secret["data"].items():
        (mounted / service).write_bytes(base64.b64decode(encoded))
    assert load_directory(mounted) == secrets
    assert secret["metadata"]["labels"] == standard_labels(full_workflow.workflow)  # Q38
    assert secret["metadata"]["name"] == "kitchen-sink-secrets"


def test_apply_order(full_workflow: LoadedWorkflow) -> None:
    objects = build_manifests(full_workflow, ManifestOptions(namespace="sink", secrets=FULL_SECRETS))
    kinds = [o["kind"] for o in objects]
    assert kinds == [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "NetworkPolicy",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "Ingress",
        "CronJob",
        "CronJob",
    ]
    assert kinds == sorted(kinds, key=APPLY_ORDER.index)
    names = [o["metadata"]["name"] for o in objects if o["kind"] == "CronJob"]
    assert names == ["kitchen-sink-cron-0", "kitchen-sink-cron-1"]


def test_no_secrets_no_secret_object(full_workflow: LoadedWorkflow) -> None:
    for secrets in (None, dict[str, dict[str, Any]]()):
        kinds = [o["kind"] for o in build_manifests(full_workflow, ManifestOptions(secrets=secrets))]
        assert "Secret" not in kinds


def test_rendering_twice_is_identical(full_workflow: LoadedWorkflow) -> None:
    options = ManifestOptions(secrets=FULL_SECRETS)
    assert build_manifests(full_workflow, options) == build_manifests(full_workflow, options)


def _leaks(text: str) -> list[str]:
    found = []
    for value in (SECRET_TOKEN, SECRET_WEBHOOK, SECRET_PASSWORD):
        for form in (value, base64.b64encode(value.encode()).decode(), json.dumps(value)[1:-1]):
            if form in text:
                found.append(form)
    # Any base64 chunk of a Secret's data would decode to a value: check the JSON documents too.
    for chunk in text.split('"'):
        try:
            decoded = base64.b64decode(chunk, validate=True).decode("utf-8", errors="ignore")
        except ValueError:
            continue
        if any(v in decoded for v in (SECRET_TOKEN, SECRET_WEBHOOK, SECRET_PASSWORD)):
            found.append(chunk)
    return found


@pytest.fixture
def secret_workflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / ".secrets").mkdir()
    (tmp_path / ".secrets" / "pg").write_text(json.dumps({"password": SECRET_PASSWORD}))
    directory = write_tree(tmp_path / "flows" / "sink", FULL_WORKFLOW, FULL_NODE_FILES)
    (directory / ".secrets.yaml").write_text(
        yaml.safe_dump(
            {"github": {"token": SECRET_TOKEN}, "slack": {"webhook_url": SECRET_WEBHOOK}, "db": "$shared.pg"}
        )
    )
    return directory


@pytest.mark.parametrize("output", ["text", "yaml", "json"])
def test_dry_run_never_shows_secret_values(output: str, secret_workflow: Path, capsys: Any) -> None:
    assert main(["deploy", "--dry-run", str(secret_workflow), "-o", output]) == 0
    out, err = capsys.readouterr()
    assert _leaks(out) == [] and _leaks(err) == []
    # text is kubectl-ready multi-document YAML; -o json / -o yaml carry the objects in the envelope
    if output == "text":
        documents = [d for d in yaml.safe_load_all(out) if d]
    else:
        documents = (json.loads(out) if output == "json" else yaml.safe_load(out))["objects"]
    secret = next(d for d in documents if d["kind"] == "Secret")
    assert secret["data"] == {"db": MASK, "github": MASK, "slack": MASK}
    assert [d["kind"] for d in documents][:4] == [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "NetworkPolicy",
    ]


def test_dry_run_json_envelope(secret_workflow: Path, capsys: Any) -> None:
    assert main(["deploy", "--dry-run", str(secret_workflow), "-o", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["command"] == "deploy" and document["status"] == "pass" and document["dryRun"] is True
    assert document["namespace"] == "sink"  # deployment.namespace
    assert document["applyOrder"][0] == "ServiceAccount/sink/sink-reader"


def test_shared_secret_traversal_is_rejected(secret_workflow: Path, capsys: Any) -> None:
    (secret_workflow / ".secrets.yaml").write_text(yaml.safe_dump({"db": "$shared.../../etc/passwd"}))
    assert main(["deploy", "--dry-run", str(secret_workflow)]) == 2
    out, err = capsys.readouterr()
    assert "invalid path components" in err
    assert out == ""


def test_missing_shared_secret_is_an_error(secret_workflow: Path, capsys: Any) -> None:
    (secret_workflow / ".secrets.yaml").write_text(yaml.safe_dump({"db": "$shared.nothere"}))
    assert main(["deploy", "--dry-run", str(secret_workflow)]) == 2
    assert "referenced but not found" in capsys.readouterr().err


def test_omit_secrets(secret_workflow: Path, capsys: Any) -> None:
    assert main(["deploy", "--dry-run", "--omit-secrets", str(secret_workflow)]) == 0
    kinds = [d["kind"] for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    assert "Secret" not in kinds


def test_explicit_secrets_path_replaces_local_ones(
    secret_workflow: Path, tmp_path: Path, capsys: Any
) -> None:
    only = tmp_path / "only.yaml"
    only.write_text(yaml.safe_dump({"github": {"token": SECRET_TOKEN}}))
    assert main(["deploy", "--dry-run", "--secrets", str(only), str(secret_workflow), "-o", "json"]) == 0
    objects = json.loads(capsys.readouterr().out)["objects"]
    assert next(o for o in objects if o["kind"] == "Secret")["data"] == {"github": MASK}


def test_dry_run_option_cascade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    source = EXAMPLES / "word-counter"
    files = {str(p.relative_to(source)): p.read_bytes() for p in (source / "nodes").rglob("*.py")}
    directory = write_tree(tmp_path / "wc", (source / "workflow.yaml").read_text(), files)

    def render(*args: str) -> dict[str, Any]:
        assert main(["deploy", "--dry-run", str(directory), "-o", "json", *args]) == 0
        objects = json.loads(capsys.readouterr().out)["objects"]
        deployment: dict[str, Any] = next(o for o in objects if o["kind"] == "Deployment")
        return deployment

    pod = render()["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == default_engine_image()  # what `tntc build` tags
    assert pod["runtimeClassName"] == "gvisor"
    assert render()["metadata"]["namespace"] == "default"
    (directory / ".tentacular").mkdir()
    (directory / ".tentacular" / "base-image.txt").write_text("localhost:5000/tentacular-engine:0.1.0\n")
    assert (
        render()["spec"]["template"]["spec"]["containers"][0]["image"]
        == "localhost:5000/tentacular-engine:0.1.0"
    )
    assert render("--image", "other:1")["spec"]["template"]["spec"]["containers"][0]["image"] == "other:1"
    assert "runtimeClassName" not in render("--runtime-class", "")["spec"]["template"]["spec"]
    assert render("-n", "prod")["metadata"]["namespace"] == "prod"
    policy = render("--image-pull-policy", "IfNotPresent")["spec"]["template"]["spec"]["containers"][0]
    assert policy["imagePullPolicy"] == "IfNotPresent"


def test_deploy_without_dry_run_hands_over_to_the_deploy_face(
    full_workflow: LoadedWorkflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tentacular.deploy as face
    from tentacular.deploy._report import DeployReport

    calls: list[tuple[Path, Any]] = []

    def deploy(directory: Path, options: Any, **_kw: Any) -> DeployReport:
        calls.append((directory, options))
        return DeployReport("wf").fail("stopped here")

    monkeypatch.setattr(face, "deploy", deploy)
    argv = [
        "deploy",
        str(full_workflow.directory),
        "--image",
        "x:1",
        "--runtime-class",
        "",
        "--timeout",
        "90",
    ]
    assert main(argv) == 1
    [(directory, options)] = calls
    assert directory == full_workflow.directory
    assert (options.image, options.runtime_class, options.force, options.timeout) == ("x:1", "", False, 90.0)
