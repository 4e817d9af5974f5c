"""Drift from managedFields: who owns what on tntc's objects, and the patch --reclaim sends."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tentacular.deploy._kube.drift import drift_of, is_security_relevant, reclaim_patch

ENGINE = 'k:{"name":"engine"}'


def apply_removals(obj: dict[str, Any], patch: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 6902 ``test`` + ``remove`` as the API server applies them, in order."""
    result = copy.deepcopy(obj)
    for op in patch:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent: Any = result
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        if op["op"] == "test":
            assert parent[last] == op["value"]
        else:
            del parent[int(last) if isinstance(parent, list) else last]
    return result


def entry(manager: str, fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"manager": manager, "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": fields, **extra}


def deployment(*entries: dict[str, Any], env: list[dict[str, str]] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "engine", "image": "engine:1"}
    if env is not None:
        container["env"] = env
    tntc = entry(
        "tntc",
        {
            "f:metadata": {"f:labels": {"f:app.kubernetes.io/name": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:template": {"f:spec": {"f:containers": {ENGINE: {".": {}, "f:image": {}, "f:name": {}}}}},
            },
        },
        operation="Apply",
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "wf", "resourceVersion": "42", "managedFields": [tntc, *entries]},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [container]}}},
    }


def env_entry(manager: str, *names: str) -> dict[str, Any]:
    env = {f'k:{{"name":"{n}"}}': {".": {}, "f:name": {}, "f:value": {}} for n in names}
    return entry(
        manager,
        {"f:spec": {"f:template": {"f:spec": {"f:containers": {ENGINE: {"f:env": {".": {}, **env}}}}}}},
    )


def test_kubectl_set_env_is_security_relevant_drift_and_reclaim_removes_the_list() -> None:
    live = deployment(
        env_entry("kubectl-set", "FOO", "BAR"),
        env=[{"name": "FOO", "value": "x"}, {"name": "BAR", "value": "y"}],
    )
    fields = drift_of(live)
    assert [(f.path, f.manager, f.security) for f in fields] == [
        ("spec.template.spec.containers[name=engine].env[name=BAR]", "kubectl-set", True),
        ("spec.template.spec.containers[name=engine].env[name=FOO]", "kubectl-set", True),
    ]
    patch = reclaim_patch(live, fields)
    assert patch == [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "42"},
        {"op": "remove", "path": "/spec/template/spec/containers/0/env"},
    ]
    reclaimed = apply_removals(live, patch)
    assert "env" not in reclaimed["spec"]["template"]["spec"]["containers"][0]


def test_values_never_appear_only_paths() -> None:
    live = deployment(env_entry("kubectl-set", "TOKEN"), env=[{"name": "TOKEN", "value": "s3cr3t-value"}])
    rendered = [f.render() + str(f.to_dict()) for f in drift_of(live)]
    assert rendered and not any("s3cr3t" in line for line in rendered)


def test_tntcs_own_managers_status_and_revision_are_not_drift() -> None:
    live = deployment(
        entry(
            "tntc-secrets-sync",
            {
                "f:spec": {
                    "f:template": {"f:metadata": {"f:annotations": {"f:tentacular.io/secrets-hash": {}}}}
                }
            },
        ),
        entry(
            "kube-controller-manager",
            {"f:metadata": {"f:annotations": {"f:deployment.kubernetes.io/revision": {}}}},
        ),
        entry("kube-controller-manager", {"f:status": {"f:replicas": {}}}, subresource="status"),
    )
    assert drift_of(live) == []


def test_objects_tntc_never_applied_have_no_drift() -> None:
    secret = {
        "kind": "Secret",
        "metadata": {
            "name": "wf-secrets",
            "managedFields": [entry("kubectl-create", {"f:data": {"f:github": {}}})],
        },
    }
    assert drift_of(secret) == []


def test_scaled_replicas_are_drift_but_not_security_relevant() -> None:
    live = deployment(entry("kubectl", {"f:spec": {"f:replicas": {}}}, subresource="scale"))
    live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"].pop("f:replicas")  # ownership moved
    (field,) = drift_of(live)
    assert (field.path, field.security) == ("spec.replicas", False)


@pytest.mark.parametrize(
    ("kind", "path", "security"),
    [
        ("Deployment", ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"sidecar"}'), True),
        ("Deployment", ("f:spec", "f:template", "f:spec", "f:volumes", 'k:{"name":"host"}'), True),
        ("Deployment", ("f:spec", "f:template", "f:spec", "f:securityContext", "f:runAsUser"), True),
        ("Deployment", ("f:spec", "f:template", "f:spec", "f:serviceAccountName"), True),
        ("Deployment", ("f:spec", "f:template", "f:spec", "f:containers", ENGINE, "f:securityContext"), True),
        ("Deployment", ("f:spec", "f:template", "f:metadata", "f:labels", "f:tentacular.io/role"), True),
        ("Deployment", ("f:spec", "f:template", "f:spec", "f:containers", ENGINE, "f:resources"), False),
        ("Deployment", ("f:spec", "f:template", "f:spec", "f:tolerations"), False),
        ("Deployment", ("f:spec", "f:template", "f:metadata", "f:annotations", "f:x"), False),
        (
            "Deployment",
            ("f:metadata", "f:annotations", "f:kubectl.kubernetes.io/last-applied-configuration"),
            False,
        ),
        ("CronJob", ("f:spec", "f:jobTemplate", "f:spec", "f:template", "f:spec", "f:hostNetwork"), True),
        ("NetworkPolicy", ("f:spec", "f:egress"), True),
        ("ConfigMap", ("f:data", "f:extra.py"), True),
        ("Service", ("f:spec", "f:type"), True),
    ],
)
def test_security_relevance(kind: str, path: tuple[str, ...], security: bool) -> None:
    assert is_security_relevant(kind, path) is security


def test_reclaim_removes_later_list_items_first() -> None:
    live = deployment()
    live["spec"]["template"]["spec"]["containers"] += [{"name": "a"}, {"name": "b"}]
    sidecars = {'k:{"name":"a"}': {".": {}}, 'k:{"name":"b"}': {".": {}}}
    live["metadata"]["managedFields"].append(
        entry("injector", {"f:spec": {"f:template": {"f:spec": {"f:containers": sidecars}}}})
    )
    patch = reclaim_patch(live, drift_of(live))
    assert [op["path"] for op in patch[1:]] == [
        "/spec/template/spec/containers/2",
        "/spec/template/spec/containers/1",
    ]
    after = apply_removals(live, patch)
    assert [c["name"] for c in after["spec"]["template"]["spec"]["containers"]] == ["engine"]
