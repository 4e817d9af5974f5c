"""The code ConfigMap: every file under nodes/, flattened keys, items back to paths, size limit."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from tentacular.deploy._codemap import CONFIGMAP_LIMIT_BYTES, CodeBundle, collect_code, config_key
from tentacular.deploy._manifests import ManifestOptions, build_manifests
from tentacular.errors import ManifestError
from tentacular.spec import LoadedWorkflow, load_deployed, load_workflow, parse_workflow
from tests.deploy.conftest import FULL_NODE_FILES, FULL_WORKFLOW, write_tree
from tests.spec.test_records import assert_reads_alike


def _by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind)


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("workflow.yaml", "workflow.yaml"),
        ("nodes/fetch.py", "nodes__fetch.py"),
        ("nodes/db/store.py", "nodes__db__store.py"),
        ("nodes/a/b/c/deep.ts", "nodes__a__b__c__deep.ts"),
        ("nodes/_private.py", "nodes___private.py"),
    ],
)
def test_flattening(path: str, key: str) -> None:
    assert config_key(path) == key


def test_unusable_file_names_are_rejected() -> None:
    with pytest.raises(ManifestError, match="cannot be shipped"):
        config_key("nodes/with space.py")


def test_every_file_ships_and_every_key_is_mounted(full_workflow: LoadedWorkflow) -> None:
    objects = build_manifests(full_workflow, ManifestOptions())
    configmap = _by_kind(objects, "ConfigMap")
    assert sorted(configmap["data"]) == [
        "nodes__db__store.py",
        "nodes__fetch.py",
        "nodes__helpers____init__.py",
        "nodes__helpers__util.py",
        "workflow.compiled.json",
        "workflow.yaml",
    ]
    assert (
        base64.b64decode(configmap["binaryData"]["nodes__data__table.bin"])
        == FULL_NODE_FILES["nodes/data/table.bin"]
    )
    deployment = _by_kind(objects, "Deployment")
    code = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "code")
    items = {item["key"]: item["path"] for item in code["configMap"]["items"]}
    assert set(items) == set(configmap["data"]) | set(configmap["binaryData"])
    assert items["nodes__helpers__util.py"] == "nodes/helpers/util.py"  # helper modules too (Q17)
    assert items["workflow.yaml"] == "workflow.yaml"


def test_caches_hidden_files_and_bytecode_are_skipped(tmp_path: Path) -> None:
    files = {
        **FULL_NODE_FILES,
        "nodes/__pycache__/fetch.cpython-311.pyc": b"\x00",
        "nodes/.DS_Store": b"\x00",
        "nodes/.hidden/x.py": "x = 1\n",
        "nodes/old.pyc": b"\x00",
        "tests/fixtures/fetch.json": "{}",
        ".secrets.yaml": "github:\n  token: nope\n",
    }
    directory = write_tree(tmp_path / "wf", FULL_WORKFLOW, files)
    bundle = collect_code(directory, "name: x\n")
    assert [f.path for f in bundle.files] == [
        "nodes/data/table.bin",
        "nodes/db/store.py",
        "nodes/fetch.py",
        "nodes/helpers/__init__.py",
        "nodes/helpers/util.py",
        "workflow.yaml",
    ]


def test_key_collisions_are_reported() -> None:
    with pytest.raises(ManifestError, match="both become ConfigMap key"):
        CodeBundle.of({"nodes/a__b.py": b"1", "nodes/a/b.py": b"2"})


def test_symlinks_out_of_the_workflow_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE KEY")
    directory = write_tree(tmp_path / "wf", FULL_WORKFLOW, FULL_NODE_FILES)
    os.symlink(secret, directory / "nodes" / "key.py")
    with pytest.raises(ManifestError, match="links outside the workflow directory"):
        collect_code(directory, "name: x\n")


def test_size_limit(tmp_path: Path) -> None:
    files = {**FULL_NODE_FILES, "nodes/big.json": "x" * CONFIGMAP_LIMIT_BYTES}
    directory = write_tree(tmp_path / "wf", FULL_WORKFLOW, files)
    with pytest.raises(ManifestError) as caught:
        build_manifests(load_workflow(directory), ManifestOptions())
    assert "exceeds the ConfigMap limit of 921600 bytes (900 KB)" in caught.value.message
    assert "nodes/big.json" in (caught.value.hint or "")


def test_just_under_the_limit_is_fine(tmp_path: Path) -> None:
    directory = write_tree(tmp_path / "wf", FULL_WORKFLOW, FULL_NODE_FILES)
    used = collect_code(directory, (directory / "workflow.yaml").read_text()).size
    (directory / "nodes" / "pad.txt").write_text("x" * (CONFIGMAP_LIMIT_BYTES - used))
    bundle = collect_code(directory, (directory / "workflow.yaml").read_text())
    assert bundle.size == CONFIGMAP_LIMIT_BYTES


def test_workflow_yaml_ships_as_written(full_workflow: LoadedWorkflow) -> None:
    configmap = _by_kind(build_manifests(full_workflow, ManifestOptions()), "ConfigMap")
    assert configmap["data"]["workflow.yaml"] == full_workflow.text


def test_config_overrides_are_merged_into_the_shipped_workflow(full_workflow: LoadedWorkflow) -> None:
    import yaml

    objects = build_manifests(full_workflow, ManifestOptions(config_overrides={"label": "prod", "extra": 3}))
    shipped = yaml.safe_load(_by_kind(objects, "ConfigMap")["data"]["workflow.yaml"])
    assert shipped["config"] == {"timeout": "20s", "retries": 1, "label": "prod", "extra": 3}


def test_invalid_config_overrides_are_rejected(full_workflow: LoadedWorkflow) -> None:
    with pytest.raises(ManifestError, match="overrides make the workflow invalid"):
        build_manifests(full_workflow, ManifestOptions(config_overrides={"timeout": "soon"}))


@pytest.mark.parametrize(
    "options",
    [
        ManifestOptions(),
        ManifestOptions(config_overrides={"channel": "#env"}),
        ManifestOptions(telemetry_overrides={"exporter": "otlp", "endpoint": "http://collector:4318"}),
    ],
    ids=["as-written", "config-overrides", "telemetry-overrides"],
)
def test_the_pod_starts_from_the_compiled_form_of_what_shipped(
    full_workflow: LoadedWorkflow, options: ManifestOptions, tmp_path: Path
) -> None:
    """The compiled form describes the shipped workflow.yaml (environment overrides merged)."""
    configmap = _by_kind(build_manifests(full_workflow, options), "ConfigMap")
    for key in ("workflow.yaml", "workflow.compiled.json"):
        (tmp_path / key).write_text(configmap["data"][key], encoding="utf-8")
    in_pod = load_deployed(tmp_path)
    assert in_pod.source == "compiled"
    assert in_pod.text == configmap["data"]["workflow.yaml"]
    shipped = parse_workflow(configmap["data"]["workflow.yaml"])[0]
    assert shipped is not None
    assert_reads_alike(in_pod.workflow, shipped)
    for key, value in (options.config_overrides or {}).items():
        assert in_pod.workflow.config.as_mapping()[key] == value
    if options.telemetry_overrides:
        assert in_pod.workflow.telemetry.endpoint == "http://collector:4318"
