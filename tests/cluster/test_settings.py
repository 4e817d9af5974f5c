"""Config merge, environments and the namespace/image/runtime-class cascades (F-151…F-165, Q6…Q9, Q29)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tentacular.deploy._settings import (
    Settings,
    default_engine_image,
    environment_name,
    load_settings,
    merge_configs,
    resolve_deploy_target,
)
from tentacular.errors import ConfigError

USER = {
    "namespace": "user-ns",
    "environments": {
        "dev": {"context": "kind-dev", "namespace": "dev-wf", "config_overrides": {"timeout": "60s", "a": 1}},
        "prod": {"context": "prod", "image": "reg.io/engine:1"},
    },
}
PROJECT = {
    "namespace": "project-ns",
    "environments": {"dev": {"image": "dev:1", "config_overrides": {"a": 2}}, "stage": {"runtime_class": ""}},
}


def test_environments_merge_field_by_field() -> None:
    merged = merge_configs(USER, PROJECT)
    assert merged["namespace"] == "project-ns"
    assert merged["environments"]["dev"] == {
        "context": "kind-dev",
        "namespace": "dev-wf",
        "image": "dev:1",
        "config_overrides": {"timeout": "60s", "a": 2},
    }
    assert merged["environments"]["prod"]["image"] == "reg.io/engine:1"


def write_kubeconfig(path: Path, contexts: dict[str, str], current: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "current-context": current,
                "contexts": [{"name": n, "context": {"cluster": n, "user": "u"}} for n in contexts],
                "clusters": [{"name": n, "cluster": {"server": s}} for n, s in contexts.items()],
                "users": [{"name": "u", "user": {"token": "t"}}],
            }
        )
    )
    return path


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    kubeconfig = write_kubeconfig(
        tmp_path / "kc", {"kind-dev": "https://127.0.0.1:6443", "prod": "https://prod.example:6443"}, "prod"
    )
    return {"KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path)}


CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    # (case, resolve kwargs, expected target fields)
    (
        "defaults",
        {},
        {"namespace": "project-ns", "image": default_engine_image(), "runtimeClass": "gvisor"},
    ),
    ("flag wins", {"namespace_flag": "x", "env_name": "dev"}, {"namespace": "x"}),
    ("env namespace", {"env_name": "dev", "workflow_namespace": "wf"}, {"namespace": "dev-wf"}),
    ("workflow beats config (Q8)", {"env_name": "prod", "workflow_namespace": "wf"}, {"namespace": "wf"}),
    ("config when env silent", {"env_name": "prod"}, {"namespace": "project-ns"}),
    ("env image", {"env_name": "prod"}, {"image": "reg.io/engine:1"}),
    ("image flag", {"env_name": "prod", "image_flag": "mine:2"}, {"image": "mine:2"}),
    ("kind on env context (Q29)", {"env_name": "dev"}, {"kind": "dev", "runtimeClass": None}),
    ("current context not kind", {}, {"kind": None, "imagePullPolicy": "Always"}),
    ("kind pull policy", {"env_name": "dev"}, {"imagePullPolicy": "IfNotPresent"}),
    ("env empty runtime class", {"env_name": "stage"}, {"runtimeClass": None}),
    (
        "runtime flag beats kind",
        {"env_name": "dev", "runtime_class_flag": "gvisor"},
        {"runtimeClass": "gvisor"},
    ),
    ("enforcement from --warn", {"warn_flag": True}, {"enforcement": "audit"}),
]


@pytest.mark.parametrize(("case", "kwargs", "expected"), CASES, ids=[c[0] for c in CASES])
def test_cascades(
    case: str, kwargs: dict[str, Any], expected: dict[str, Any], environ: dict[str, str]
) -> None:
    settings = Settings(merge_configs(USER, PROJECT))
    kwargs = {"env_name": None, **kwargs}
    target = resolve_deploy_target(settings, environ=environ, **kwargs).to_dict()
    assert {k: target[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"runtime_class": "gvisor"}, ("gvisor", "config", "IfNotPresent")),
        ({"image_pull_policy": "Always"}, ("", "kind cluster dev", "Always")),
        (
            {"environments": {"dev": {"runtime_class": "runsc", "image_pull_policy": "Never"}}},
            ("runsc", "environment dev", "Never"),
        ),
    ],
)
def test_explicit_runtime_class_and_pull_policy_beat_kind_detection(
    config: dict[str, Any], expected: tuple[str, str, str], environ: dict[str, str]
) -> None:
    """Build 6: a kind cluster with gVisor installed (or a registry) is configurable: what the
    config or the environment says explicitly wins over the kind adjustments."""
    settings = Settings(merge_configs(USER, config))
    target = resolve_deploy_target(settings, env_name="dev", environ=environ)
    assert target.kind is not None
    assert (target.runtime_class.value, target.runtime_class.source, target.pull_policy) == expected


def test_kind_uses_explicit_kubeconfig_of_environment(tmp_path: Path) -> None:
    explicit = write_kubeconfig(tmp_path / "other", {"kind-lab": "https://localhost:7000"}, "kind-lab")
    settings = Settings(merge_configs({"environments": {"lab": {"kubeconfig": str(explicit)}}}, {}))
    target = resolve_deploy_target(settings, env_name="lab", environ={"HOME": str(tmp_path)})
    assert target.kind is not None and target.kind.name == "lab"


def test_image_from_base_image_file(tmp_path: Path) -> None:
    (tmp_path / ".tentacular").mkdir()
    (tmp_path / ".tentacular" / "base-image.txt").write_text("built:7\n")
    target = resolve_deploy_target(
        Settings(), env_name=None, workflow_dir=tmp_path, environ={"HOME": str(tmp_path)}
    )
    assert (target.image.value, target.image.source) == ("built:7", ".tentacular/base-image.txt")


def test_unknown_environment_and_tentacular_env(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match='environment "nope" not found'):
        Settings(merge_configs(USER, {})).environment("nope")
    assert environment_name(None, {"TENTACULAR_ENV": "prod"}) == "prod"
    assert environment_name("dev", {"TENTACULAR_ENV": "prod"}) == "dev"


def test_invalid_files_are_errors(tmp_path: Path) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text("environments: [1, 2]\n")
    with pytest.raises(ConfigError):
        load_settings(bad, tmp_path / "missing.yaml")
    bad.write_text("environments: {dev: {colour: blue}}\n")
    with pytest.raises(ConfigError, match="unknown field"):
        load_settings(bad, tmp_path / "missing.yaml").environment("dev")
