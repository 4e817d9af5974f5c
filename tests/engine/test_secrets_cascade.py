"""The secrets cascade (D5, Q1…Q5) as the engine resolves it, incl. a Kubernetes Secret volume."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tentacular.engine._secrets import resolve_secrets
from tentacular.errors import SecretsError


def k8s_secret_volume(directory: Path, files: dict[str, str]) -> Path:
    """The kubelet layout: ..<timestamp>/ holds the data, ..data → it, each key a symlink via ..data."""
    directory.mkdir(parents=True)
    stamp = directory / "..2026_11_23_10_00_00.000000001"
    stamp.mkdir()
    for name, text in files.items():
        (stamp / name).write_text(text)
    (directory / "..data").symlink_to(stamp.name)
    for name in files:
        (directory / name).symlink_to(Path("..data") / name)
    return directory


def test_directory_then_yaml_merged_key_by_key(tmp_path: Path) -> None:
    (tmp_path / ".secrets").mkdir()
    (tmp_path / ".secrets" / "github").write_text(json.dumps({"token": "dir-token", "org": "dir-org"}))
    (tmp_path / ".secrets" / "plain").write_text("  just-text \n")
    (tmp_path / ".secrets.yaml").write_text("github:\n  token: yaml-token\nslack:\n  url: u\n")
    secrets = resolve_secrets(tmp_path, cluster_dir=None)
    assert secrets["github"] == {"token": "yaml-token", "org": "dir-org"}  # Q2: key-level merge
    assert secrets["plain"] == {"value": "just-text"}
    assert secrets["slack"] == {"url": "u"}


def test_empty_directory_falls_back_to_yaml(tmp_path: Path) -> None:
    (tmp_path / ".secrets").mkdir()
    (tmp_path / ".secrets.yaml").write_text("a:\n  k: v\n")
    assert resolve_secrets(tmp_path, cluster_dir=None) == {"a": {"k": "v"}}  # Q3


def test_explicit_path_replaces_every_other_source(tmp_path: Path) -> None:
    (tmp_path / ".secrets.yaml").write_text("a:\n  k: local\n")
    cluster = k8s_secret_volume(tmp_path / "cluster", {"a": '{"k": "cluster"}'})
    explicit = tmp_path / "other.yaml"
    explicit.write_text("b:\n  k: explicit\n")
    assert resolve_secrets(tmp_path, explicit, cluster_dir=cluster) == {"b": {"k": "explicit"}}  # Q1
    with pytest.raises(SecretsError, match="does not exist"):
        resolve_secrets(tmp_path, tmp_path / "missing.yaml", cluster_dir=None)


def test_cluster_volume_with_symlinks_merges_on_top(tmp_path: Path) -> None:
    (tmp_path / ".secrets.yaml").write_text("github:\n  token: local\n  org: local-org\n")
    cluster = k8s_secret_volume(
        tmp_path / "app-secrets", {"github": '{"token": "from-k8s"}', "nats": "nats-token-text\n"}
    )
    assert os.path.islink(cluster / "github")
    secrets = resolve_secrets(tmp_path, cluster_dir=cluster)
    assert secrets["github"] == {"token": "from-k8s", "org": "local-org"}
    assert secrets["nats"] == {"value": "nats-token-text"}
    assert not any(name.startswith("..") for name in secrets)  # ..data and ..<stamp> skipped


def test_shared_reference_resolves_and_missing_one_fails(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".secrets").mkdir(parents=True)
    (repo / "pyproject.toml").write_text("")
    (repo / ".secrets" / "gh").write_text('{"token": "shared-tok"}')
    wf = repo / "flows" / "one"
    wf.mkdir(parents=True)
    (wf / ".secrets.yaml").write_text("github: $shared.gh\nother:\n  key: $shared.gh\n")
    secrets = resolve_secrets(wf, cluster_dir=None)
    assert secrets["github"] == {"token": "shared-tok"}  # Q4
    (wf / ".secrets.yaml").write_text("github:\n  token: $shared.nope\n")
    with pytest.raises(SecretsError, match="not found"):  # Q5
        resolve_secrets(wf, cluster_dir=None)


def test_no_sources_is_empty(tmp_path: Path) -> None:
    assert resolve_secrets(tmp_path, cluster_dir=tmp_path / "absent") == {}
