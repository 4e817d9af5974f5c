"""Cluster readiness checks for `tntc cluster check` and the deploy preflight (F-193, F-194, Q27, Q28)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tentacular.deploy._kube.client import (
    CONFIG_MAP,
    CRON_JOB,
    DEPLOYMENT,
    NAMESPACE,
    NETWORK_POLICY,
    POD,
    RUNTIME_CLASS,
    SECRET,
    SERVICE,
    Kind,
    KubeClient,
)
from tentacular.errors import ClusterError, ClusterForbiddenError

# What a deploy, run, logs and undeploy need in the target namespace.
REQUIRED_ACCESS: tuple[tuple[Kind, str, tuple[str, ...]], ...] = (
    (DEPLOYMENT, "deployments", ("get", "list", "create", "patch", "delete")),
    (SERVICE, "services", ("get", "create", "patch", "delete")),
    (CONFIG_MAP, "configmaps", ("get", "list", "create", "patch", "delete")),
    (SECRET, "secrets", ("get", "create", "patch", "delete")),
    (CRON_JOB, "cronjobs", ("get", "list", "create", "patch", "delete")),
    (NETWORK_POLICY, "networkpolicies", ("get", "list", "create", "patch", "delete")),
    (POD, "pods", ("get", "list", "create", "delete")),
)


@dataclass
class Check:
    name: str
    passed: bool
    warning: str | None = None
    remediation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "passed": self.passed}
        if self.warning:
            data["warning"] = self.warning
        if self.remediation:
            data["remediation"] = self.remediation
        return data


def check_api(client: KubeClient) -> Check:
    try:
        version = client.server_version()
    except ClusterError as error:
        # The cause first (e.g. "not a Kubernetes API server at URL"), then what to do about it.
        detail = f"{error.message}; {error.hint}" if error.hint else error.message
        return Check("Kubernetes API reachable", False, remediation=detail)
    return Check(f"Kubernetes API reachable ({version.get('gitVersion', 'unknown version')})", True)


def check_runtime_class(client: KubeClient, runtime_class: str, *, required: bool) -> Check:
    """Missing gVisor is a warning for ``cluster check`` (Q27) but fails a deploy that would use it."""
    name = f"RuntimeClass '{runtime_class}'"
    install = (
        f"install gVisor and create RuntimeClass {runtime_class} (see docs/operations.md), "
        'or deploy with --runtime-class ""'
    )
    try:
        found = client.get(RUNTIME_CLASS, runtime_class)
    except ClusterForbiddenError:
        return Check(name, True, warning="cannot read RuntimeClasses with these credentials; not verified")
    if found is not None:
        return Check(name, True)
    if required:
        return Check(name, False, remediation=install)
    return Check(name, True, warning=f"RuntimeClass {runtime_class} not found; pods would run without gVisor")


def check_namespace(client: KubeClient, namespace: str, *, fix: bool = False) -> Check:
    name = f"Namespace '{namespace}'"
    try:
        found = client.get(NAMESPACE, namespace)
    except ClusterForbiddenError:
        return Check(name, True, warning="cannot read namespaces with these credentials; assuming it exists")
    if found is not None:
        return Check(name, True)
    if fix:
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        return Check(f"{name} (auto-created)", True)
    return Check(
        name,
        False,
        remediation=f"run: kubectl create namespace {namespace} (or tntc cluster check --fix -n {namespace})",
    )


def check_rbac(client: KubeClient, namespace: str) -> Check:
    missing = [
        f"{verb} {resource}"
        for kind, resource, verbs in REQUIRED_ACCESS
        for verb in verbs
        if not client.can_i(verb, kind, resource, namespace)
    ]
    if not client.can_i("get", POD, "pods/log", namespace):
        missing.append("get pods/log")
    if not missing:
        return Check("RBAC permissions", True)
    return Check(
        "RBAC permissions",
        False,
        remediation=f"Missing permissions in namespace {namespace}: {', '.join(missing)}; "
        "ask a cluster admin for a Role granting them",
    )


def check_secrets(client: KubeClient, namespace: str, names: Sequence[str], *, optional: bool) -> Check:
    if not names:
        return Check("Secret references", True)
    missing = [name for name in names if client.get(SECRET, name, namespace) is None]
    if not missing:
        return Check("Secret references", True)
    message = f"Missing secrets in namespace {namespace}: {', '.join(missing)}"
    if optional:
        return Check(
            "Secret references",
            True,
            warning=f"{message} (no local secrets; the secret volume is optional)",
        )
    return Check(
        "Secret references",
        False,
        remediation=f"{message}; add .secrets.yaml to the workflow and deploy, or create them with kubectl",
    )


def run_checks(
    client: KubeClient,
    namespace: str,
    *,
    runtime_class: str | None,
    runtime_class_required: bool,
    secret_names: Sequence[str] = (),
    secrets_optional: bool = False,
    fix: bool = False,
) -> list[Check]:
    """API first (nothing else can work without it), then namespace, RuntimeClass, RBAC, secrets."""
    api = check_api(client)
    if not api.passed:
        return [api]
    checks = [api, check_namespace(client, namespace, fix=fix)]
    if runtime_class:
        checks.append(check_runtime_class(client, runtime_class, required=runtime_class_required))
    checks.append(check_rbac(client, namespace))
    if checks[1].passed:
        checks.append(check_secrets(client, namespace, secret_names, optional=secrets_optional))
    return checks
