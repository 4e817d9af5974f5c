"""Least privilege on the real control plane (issue 13, Build 3-5): the whole lifecycle as a deployer
bound to ``edit`` in one namespace, cluster RBAC refused before anything is applied, and
``cluster check`` agreeing with the deploy preflight on every check."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.control_plane import ControlPlane
from tests.cluster.kube import EditDeployer, Kube, service_account_token
from tests.cluster.test_lifecycle import EXAMPLE_NAMES, copy_example, tntc

PLACEHOLDER = re.compile(r"<[A-Za-z_][\w-]*>")
NAME = "app.kubernetes.io/name"


def assert_filled(doc: dict[str, Any], err: str) -> None:
    """No hint, summary, check or error in a failure's output is an unfilled ``<template>``."""
    shown = {k: doc.get(k) for k in ("summary", "hints", "error", "checks", "warnings")}
    text = json.dumps(shown) + err
    assert not PLACEHOLDER.search(text), PLACEHOLDER.search(text)


def with_cluster_rbac(directory: Path, account: str = "reader") -> Path:
    spec = yaml.safe_load((directory / "workflow.yaml").read_text())
    spec["deployment"] = {
        **(spec.get("deployment") or {}),
        "serviceAccount": account,
        "rbac": {"clusterRole": {"rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]}},
    }
    (directory / "workflow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return directory


def without_cluster_rbac(directory: Path) -> Path:
    spec = yaml.safe_load((directory / "workflow.yaml").read_text())
    spec.pop("deployment", None)
    (directory / "workflow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return directory


def workflow_objects(kube: Kube, name: str) -> set[str]:
    found = set()
    for resource in (
        "configmaps",
        "deployments",
        "services",
        "networkpolicies",
        "cronjobs",
        "serviceaccounts",
    ):
        found |= {f"{resource}/{n}" for n in kube.objects(resource, **{NAME: name})}
    return found


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_lifecycle_as_namespace_edit_deployer(
    example: str,
    edit_deployer: EditDeployer,
    kube: Kube,
    pod_logs: Callable[[list[str]], None],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    edit_deployer()
    directory = copy_example(example, tmp_path)
    deploy = ("deploy", str(directory), "--force")

    code, doc, err = tntc(capsys, *deploy)
    assert code == 0, (doc, err)
    assert {m["action"] for m in doc["manifests"]} == {"created"}
    assert not any(m["object"].startswith(("ClusterRole", "ServiceAccount")) for m in doc["manifests"])
    assert kube.get("deployments", example)["status"]["readyReplicas"] == 1

    code, doc, _ = tntc(capsys, *deploy)
    assert code == 0 and {m["action"] for m in doc["manifests"]} == {"unchanged"}, doc["manifests"]

    node = sorted((directory / "nodes").iterdir())[0]
    node.write_text(
        node.read_text() + "\n// changed\n" if node.suffix == ".ts" else node.read_text() + "\n# changed\n"
    )
    code, doc, err = tntc(capsys, *deploy)
    assert code == 0, (doc, err)
    changed = {(m["object"], m["action"]) for m in doc["manifests"] if m["action"] != "unchanged"}
    assert (f"Deployment/{example}", "configured") in changed
    (code_map,) = changed - {(f"Deployment/{example}", "configured")}
    assert code_map[0].startswith(f"ConfigMap/{example}-code-") and code_map[1] == "created", changed

    code, doc, _ = tntc(capsys, "status", example, "--detail")
    assert code == 0 and doc["workflow"]["ready"] is True and doc["workflow"]["pods"]

    code, doc, _ = tntc(capsys, "list")
    assert code == 0 and [w["name"] for w in doc["workflows"]] == [example]
    code, doc, err = tntc(capsys, "list", "-A")
    assert code == 0 and [w["name"] for w in doc["workflows"]] == [example]
    assert doc["searched"] == [kube.namespace] and "may not list deployments in every namespace" in err

    code, doc, _ = tntc(capsys, "audit", str(directory))
    assert code == 0 and doc["audit"]["overall"] == "pass", doc

    pod_logs(["engine started", f"POST /run {example} 200"])
    code, doc, _ = tntc(capsys, "logs", example)
    assert code == 0 and doc["lines"][-1] == f"POST /run {example} 200"

    # The trigger pod is admitted (restricted profile), watched, read and removed with edit's rights;
    # what its container "printed" through kwok is the engine's answer.
    answer = {"success": True, "outputs": {"report": {"example": example}}, "errors": {}, "timing": {}}
    pod_logs([json.dumps(answer)])
    code, doc, err = tntc(capsys, "run", example)
    assert code == 0, (doc, err)
    assert doc["execution"] == answer
    assert kube.objects("pods", **{"tentacular.io/role": "trigger"}) == {}

    code, doc, _ = tntc(capsys, "undeploy", example, "--yes")
    assert code == 0 and f"Deployment/{example}" in doc["removed"]
    assert workflow_objects(kube, example) == set()


def test_cluster_rbac_refused_early_for_edit_deployer_and_pruned_by_marker_as_admin(
    control_plane: ControlPlane,
    edit_deployer: EditDeployer,
    kube: Kube,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = control_plane.kubeconfig(tmp_path / "admin.kubeconfig")
    edit_deployer()
    directory = with_cluster_rbac(copy_example("word-counter", tmp_path))
    role = f"tentacular:{kube.namespace}:word-counter"

    code, doc, err = tntc(capsys, "deploy", str(directory), "--force")
    assert code == 1 and doc["error"]["code"] == "preflight_failed", doc
    assert (
        doc["summary"]
        == "deploy failed: preflight checks failed -- nothing was applied: Cluster RBAC for deploy"
    )
    (refused,) = [c for c in doc["error"]["checks"] if not c["passed"]]
    assert "declares cluster RBAC" in refused["remediation"]
    assert "create clusterroles.rbac.authorization.k8s.io at the cluster scope" in refused["remediation"]
    assert not any("--force" in h or "tntc logs" in h for h in doc["hints"]), doc["hints"]
    assert_filled(doc, err)
    assert workflow_objects(kube, "word-counter") == set()
    code, check, _ = tntc(capsys, "cluster", "check", "--dir", str(directory))
    assert code == 1 and check["checks"] == doc["error"]["checks"]

    # An admin may; the namespaced objects record it, so the later deploy without RBAC prunes it.
    monkeypatch.setenv("KUBECONFIG", str(admin))
    code, doc, err = tntc(capsys, "deploy", str(directory), "--force", "--no-wait")
    assert code == 0, (doc, err)
    assert kube.get("clusterroles", role) is not None and kube.get("clusterrolebindings", role) is not None
    deployment = kube.get("deployments", "word-counter")
    assert deployment["metadata"]["annotations"]["tentacular.io/cluster-rbac"] == "true"
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "reader"

    code, doc, _ = tntc(capsys, "deploy", str(without_cluster_rbac(directory)), "--force", "--no-wait")
    assert code == 0, doc
    pruned = {m["object"] for m in doc["manifests"] if m["action"] == "pruned"}
    assert pruned == {f"ClusterRoleBinding/{role}", f"ClusterRole/{role}", "ServiceAccount/reader"}
    assert kube.get("clusterroles", role) is None
    assert (
        kube.get("deployments", "word-counter")["spec"]["template"]["spec"]["serviceAccountName"] == "default"
    )

    code, doc, _ = tntc(capsys, "deploy", str(with_cluster_rbac(directory)), "--force", "--no-wait")
    assert code == 0, doc
    code, doc, _ = tntc(capsys, "undeploy", "word-counter", "--yes")
    assert code == 0 and {f"ClusterRole/{role}", f"ClusterRoleBinding/{role}"} <= set(doc["removed"])
    assert kube.get("clusterrolebindings", role) is None


def test_denials_name_verb_resource_and_scope(
    edit_deployer: EditDeployer, kube: Kube, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_deployer()
    code, doc, err = tntc(capsys, "status", "word-counter", "-n", "default")
    assert code == 1 and doc["error"]["code"] == "cluster_forbidden"
    assert "may not get deployments.apps in namespace default" in doc["summary"]
    assert doc["error"]["denied"] == {
        "verb": "get",
        "resource": "deployments",
        "group": "apps",
        "scope": "namespace",
        "namespace": "default",
    }
    assert "tntc cluster check -n default" in doc["hints"][0]
    assert_filled(doc, err)


# ----- cluster check == deploy preflight -----------------------------------------------------------


@dataclass
class Scenario:
    """Who deploys what with which flags, and what both must conclude."""

    name: str
    example: str = "word-counter"
    deployer: str = "admin"  # admin | edit | no-configmaps
    flags: tuple[str, ...] = ()
    deploy_flags: tuple[str, ...] = ()  # input gates of deploy alone, before any cluster call
    cluster_rbac: bool = False
    no_local_secrets: bool = False
    ready: bool = True
    warnings: tuple[str, ...] = ()  # substrings some check's warning must contain
    refused: tuple[str, ...] = ()  # names of the checks that fail
    extra: dict[str, Any] = field(default_factory=dict)


SCENARIOS = [
    Scenario("admin, everything present"),
    Scenario("edit deployer", example="hn-digest", deployer="edit"),
    Scenario(
        # edit cannot read RuntimeClasses; a dry-run pod asks the admission plugin instead.
        "RuntimeClass missing, edit deployer",
        deployer="edit",
        flags=("--runtime-class", "no-such-sandbox"),
        ready=False,
        refused=("RuntimeClass 'no-such-sandbox'",),
    ),
    Scenario(
        "RuntimeClass missing",
        flags=("--runtime-class", "no-such-sandbox"),
        ready=False,
        refused=("RuntimeClass 'no-such-sandbox'",),
    ),
    Scenario(
        "no RuntimeClass asked for", flags=("--runtime-class", ""), warnings=("without the gVisor sandbox",)
    ),
    Scenario(
        "namespace missing",
        flags=("-n", "no-such-namespace"),
        ready=False,
        refused=("Namespace 'no-such-namespace'",),
    ),
    Scenario(
        "role without create configmaps",
        deployer="no-configmaps",
        ready=False,
        refused=("RBAC for deploy (namespace {ns})",),
    ),
    Scenario(
        "cluster RBAC as edit deployer",
        deployer="edit",
        cluster_rbac=True,
        ready=False,
        refused=("Cluster RBAC for deploy",),
    ),
    Scenario(
        "secrets needed, none local, none in the cluster",
        example="repo-digest",
        deployer="edit",
        no_local_secrets=True,
        deploy_flags=("--allow-missing-secrets",),
        warnings=("missing secrets in namespace {ns}: repo-digest-secrets",),
    ),
]


def no_configmaps_deployer(control_plane: ControlPlane, kube: Kube, tmp_path: Path) -> Path:
    """A Role like edit, but configmaps are read-only."""
    rules = [
        {"apiGroups": [""], "resources": ["services", "secrets", "pods", "serviceaccounts"], "verbs": ["*"]},
        {
            "apiGroups": [""],
            "resources": ["configmaps", "pods/log", "events", "namespaces"],
            "verbs": ["get", "list"],
        },
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]},
        {"apiGroups": ["batch"], "resources": ["cronjobs", "jobs"], "verbs": ["*"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies", "ingresses"], "verbs": ["*"]},
    ]
    kube.create(
        "serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "narrow"}}
    )
    kube.create(
        "roles",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "narrow"},
            "rules": rules,
        },
    )
    kube.create(
        "rolebindings",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "narrow"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "narrow"},
            "subjects": [{"kind": "ServiceAccount", "name": "narrow", "namespace": kube.namespace}],
        },
    )
    token = service_account_token(control_plane, kube.namespace, "narrow")
    return control_plane.kubeconfig(tmp_path / "narrow.kubeconfig", token=token, user="narrow")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_cluster_check_and_deploy_preflight_agree(
    scenario: Scenario,
    control_plane: ControlPlane,
    admin_kubeconfig: Path,
    edit_deployer: EditDeployer,
    kube: Kube,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if scenario.deployer == "edit":
        edit_deployer()
    elif scenario.deployer == "no-configmaps":
        monkeypatch.setenv("KUBECONFIG", str(no_configmaps_deployer(control_plane, kube, tmp_path)))
    directory = copy_example(scenario.example, tmp_path)
    if scenario.no_local_secrets:
        (directory / ".secrets.yaml").unlink()
    if scenario.cluster_rbac:
        with_cluster_rbac(directory)
    ns = kube.namespace

    check_code, check, check_err = tntc(capsys, "cluster", "check", "--dir", str(directory), *scenario.flags)
    code, doc, err = tntc(
        capsys, "deploy", str(directory), "--force", "--no-wait", *scenario.flags, *scenario.deploy_flags
    )

    preflight = doc["checks"] if code == 0 else doc["error"].get("checks")
    assert preflight == check["checks"], "cluster check and the deploy preflight disagree"
    assert (check_code == 0) is scenario.ready and (code == 0) is scenario.ready, (check, doc)
    refused = [c["name"] for c in check["checks"] if not c["passed"]]
    assert refused == [name.format(ns=ns) for name in scenario.refused]
    warnings = " ".join(c.get("warning", "") for c in check["checks"])
    for expected in scenario.warnings:
        assert expected.format(ns=ns) in warnings, warnings
    if not scenario.ready:
        assert doc["error"]["code"] == "preflight_failed"
        assert workflow_objects(kube, scenario.example) == set(), "a refused deploy applied something"
        assert_filled(check, check_err)
        assert_filled(doc, err)
