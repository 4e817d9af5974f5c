"""Cluster readiness checks: one set, run by ``tntc cluster check`` and by the deploy preflight
(F-193, F-194, Q27, Q28, issue 13 Build 4).

Both build a ``CheckPlan`` the same way (``plan_for``) and run it with ``run_checks``, so they
agree on every check and its severity. A check that fails means the deploy would fail; a
warning means it would work but something named is not verified or will not work later.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tentacular.deploy._kube import permissions as table
from tentacular.deploy._kube.access import Access
from tentacular.deploy._kube.client import DEPLOYMENT, NAMESPACE, RUNTIME_CLASS, SECRET, KubeClient
from tentacular.deploy._kube.live import UNREAD, Unread
from tentacular.deploy._kube.permissions import CLUSTER_RBAC, Permission
from tentacular.deploy._labels import CLUSTER_RBAC_ANNOTATION
from tentacular.deploy._workload import container_security_context, hardened_pod_spec
from tentacular.errors import ClusterError, ClusterForbiddenError


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


@dataclass(frozen=True)
class CheckPlan:
    """What one deploy (or a generic one, without a workflow) will need from the cluster."""

    namespace: str
    runtime_class: str | None
    workflow: str | None = None
    conditions: frozenset[str] = frozenset()
    #: Secrets the pods expect that this deploy does not provision.
    secret_names: tuple[str, ...] = ()


def plan_for(
    namespace: str,
    runtime_class: str | None,
    *,
    workflow: str | None = None,
    objects: Sequence[Mapping[str, Any]] = (),
    needs_existing_secret: bool = False,
    verify: bool = False,
) -> CheckPlan:
    """The plan of a deploy of ``objects`` (as rendered); shared by preflight and cluster check."""
    conditions = {str(obj["kind"]) for obj in objects}
    if "ClusterRole" in conditions or "ClusterRoleBinding" in conditions:
        conditions.add(CLUSTER_RBAC)
    if needs_existing_secret and workflow:
        conditions.add("secret-check")
    if verify:
        conditions.add("verify")
    secrets = (f"{workflow}-secrets",) if needs_existing_secret and workflow else ()
    return CheckPlan(namespace, runtime_class or None, workflow, frozenset(conditions), secrets)


def check_api(client: KubeClient) -> Check:
    try:
        version = client.server_version()
    except ClusterError as error:
        # The cause first (e.g. "not a Kubernetes API server at URL"), then what to do about it.
        detail = f"{error.message}; {error.hint}" if error.hint else error.message
        return Check("Kubernetes API reachable", False, remediation=detail)
    return Check(f"Kubernetes API reachable ({version.get('gitVersion', 'unknown version')})", True)


def runtime_class_fix(runtime_class: str) -> str:
    manifest = (
        "apiVersion: node.k8s.io/v1\\nkind: RuntimeClass\\n"
        f"metadata: {{name: {runtime_class}}}\\nhandler: runsc\\n"
    )
    return (
        f"install gVisor (runsc) on the nodes, then: printf '{manifest}' | kubectl apply -f - "
        '(see docs/operations.md); or deploy without the sandbox: --runtime-class ""'
    )


def read_runtime_class(client: KubeClient, runtime_class: str | None) -> dict[str, Any] | Unread | None:
    """The RuntimeClass (None: absent or none asked for; UNREAD: not readable with these credentials)."""
    if not runtime_class:
        return None
    try:
        return client.get(RUNTIME_CLASS, runtime_class)
    except ClusterForbiddenError:
        return UNREAD


def check_runtime_class(
    client: KubeClient,
    runtime_class: str | None,
    namespace: str | None = None,
    *,
    live: Mapping[str, Any] | Unread | None = UNREAD,
    read: bool = False,
) -> Check:
    """A missing RuntimeClass fails: the RuntimeClass admission plugin rejects every pod naming it,
    so the Deployment would never get a pod. Not readable with these credentials: not verified.
    ``live``: what read_runtime_class returned, when ``read`` (else it is read here)."""
    if not runtime_class:
        return Check(
            "RuntimeClass (none)",
            True,
            warning="no RuntimeClass requested: pods run without the gVisor sandbox",
        )
    name = f"RuntimeClass '{runtime_class}'"
    if not read:
        live = read_runtime_class(client, runtime_class)
    found = live is not None
    if isinstance(live, Unread):
        # RuntimeClasses are cluster-scoped (edit cannot read them): ask the admission plugin
        # instead, with a server-side dry run of a pod naming it in the namespace.
        probed = _probe_runtime_class(client, runtime_class, namespace)
        if probed is None:
            return Check(
                name,
                True,
                warning=f"cannot read RuntimeClasses with these credentials; {runtime_class} not verified "
                "(pods are rejected if it does not exist)",
            )
        found = probed
    if found:
        return Check(name, True)
    return Check(
        name, False, remediation=f"RuntimeClass {runtime_class} not found; {runtime_class_fix(runtime_class)}"
    )


def _probe_runtime_class(client: KubeClient, runtime_class: str, namespace: str | None) -> bool | None:
    """True/False: the RuntimeClass admission plugin admitted/refused a dry-run pod; None: unknown."""
    if namespace is None:
        return None
    probe = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "tntc-preflight-runtime-class", "namespace": namespace},
        "spec": hardened_pod_spec(
            containers=[
                {
                    "name": "probe",
                    "image": "registry.k8s.io/pause:3.10",
                    "securityContext": container_security_context(),
                }
            ],
            volumes=[],
            runtime_class=runtime_class,
            service_account=None,
            mount_token=False,
            restart_policy="Never",
        ),
    }
    try:
        client.create(probe, dry_run=True)
    except ClusterError as error:
        lowered = error.message.lower()
        if "runtimeclass" in lowered and "not found" in lowered:
            return False
        return None  # denied for another reason (no create pods, a quota...): not verified
    return True


def check_namespace(client: KubeClient, namespace: str, *, fix: bool = False) -> Check:
    name = f"Namespace '{namespace}'"
    try:
        found = client.get(NAMESPACE, namespace)
    except ClusterForbiddenError:
        return Check(
            name, True, warning="cannot read the namespace with these credentials; assuming it exists"
        )
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


def _listing(rows: Sequence[Permission], namespace: str) -> str:
    return ", ".join(row.describe(namespace) for row in rows)


def read_deployment(client: KubeClient, workflow: str, namespace: str) -> dict[str, Any] | Unread | None:
    """The live Deployment (None: there is none; UNREAD: these credentials may not read it, which
    the RBAC check then reports). The preflight reads it once and the apply reuses it."""
    try:
        return client.get(DEPLOYMENT, workflow, namespace)
    except ClusterForbiddenError:
        return UNREAD


def deployed_with_cluster_rbac(deployment: Mapping[str, Any] | Unread | None) -> bool:
    """The version being replaced declared cluster RBAC: recorded on its Deployment (never listed)."""
    if isinstance(deployment, Unread):
        return False
    annotations = ((deployment or {}).get("metadata") or {}).get("annotations") or {}
    return annotations.get(CLUSTER_RBAC_ANNOTATION) == "true"


def check_permissions(access: Access, plan: CheckPlan) -> list[Check]:
    """A SelfSubjectAccessReview per row of the permission table this deploy will use."""
    namespace = plan.namespace
    rows = [r for r in table.applicable(table.DEPLOY, plan.conditions) if r.required]
    namespaced = [r for r in rows if r.when != CLUSTER_RBAC]
    checks = []
    missing = access.missing(namespaced)
    name = f"RBAC for deploy (namespace {namespace})"
    checks.append(
        Check(name, True)
        if not missing
        else Check(
            name,
            False,
            remediation=f"missing: {_listing(missing, namespace)}; ask a cluster admin for a RoleBinding "
            f"to the built-in edit ClusterRole in {namespace} "
            "(docs/operations.md lists each command's needs)",
        )
    )
    if CLUSTER_RBAC in plan.conditions:
        missing = access.missing([r for r in rows if r.when == CLUSTER_RBAC])
        name = "Cluster RBAC for deploy"
        checks.append(
            Check(name, True)
            if not missing
            else Check(
                name,
                False,
                remediation="the workflow declares cluster RBAC (deployment.rbac), which creates a "
                f"ClusterRole and ClusterRoleBinding; missing: {_listing(missing, namespace)}; a cluster "
                "admin must deploy it, or grant these (plus bind/escalate for the roles' rules)",
            )
        )
    later = [
        (command, access.missing(table.applicable(table.PERMISSIONS[command], plan.conditions)))
        for command in table.LIFECYCLE
    ]
    later = [(command, rows) for command, rows in later if rows]
    name = "RBAC for " + ", ".join(table.LIFECYCLE)
    if not later:
        checks.append(Check(name, True))
    else:
        detail = "; ".join(
            f"tntc {command} needs {_listing([r for r in rows if r.required], namespace)}"
            for command, rows in later
            if any(r.required for r in rows)
        )
        checks.append(Check(name, True, warning=f"the deploy itself would work, but {detail}"))
    return checks


def check_secrets(client: KubeClient, namespace: str, names: Sequence[str]) -> Check:
    """Secrets this deploy does not provision: missing is a warning (the secret volume is optional)."""
    if not names:
        return Check("Secret references", True)
    try:
        missing = [name for name in names if client.get(SECRET, name, namespace) is None]
    except ClusterForbiddenError:
        return Check("Secret references", True, warning=f"cannot read secrets in {namespace}; not verified")
    if not missing:
        return Check("Secret references", True)
    return Check(
        "Secret references",
        True,
        warning=f"missing secrets in namespace {namespace}: {', '.join(missing)} (no local secrets; the "
        "secret volume is optional, so nodes start without them); provide .secrets.yaml and deploy, "
        "or run: tntc secrets sync",
    )


def run_checks(client: KubeClient, plan: CheckPlan, *, fix: bool = False) -> list[Check]:
    """API first (nothing else can work without it), then namespace, RuntimeClass, RBAC, secrets."""
    return run_preflight(client, plan, fix=fix)[0]


def run_preflight(
    client: KubeClient, plan: CheckPlan, *, fix: bool = False
) -> tuple[list[Check], dict[str, Any] | Unread | None]:
    """run_checks, and the workflow's live Deployment as it read it (UNREAD: it did not), which
    the apply that follows reuses instead of reading it again."""
    deployment: dict[str, Any] | Unread | None = UNREAD
    api = check_api(client)
    if not api.passed:
        return [api], deployment
    checks = [api, check_namespace(client, plan.namespace, fix=fix)]
    runtime_class = read_runtime_class(client, plan.runtime_class)
    checks.append(
        check_runtime_class(
            client,
            plan.runtime_class,
            plan.namespace if checks[1].passed else None,
            live=runtime_class,
            read=True,
        )
    )
    if plan.workflow is not None and CLUSTER_RBAC not in plan.conditions:
        deployment = read_deployment(client, plan.workflow, plan.namespace)
    replaced_had_rbac = CLUSTER_RBAC not in plan.conditions and deployed_with_cluster_rbac(deployment)
    if replaced_had_rbac:
        plan = dataclasses.replace(plan, conditions=plan.conditions | {CLUSTER_RBAC})
    checks.extend(check_permissions(Access(client, plan.namespace), plan))
    if checks[1].passed:
        checks.append(check_secrets(client, plan.namespace, plan.secret_names))
    # Which kernel layers the pods will get (issue 11); never a failure. Imported here: it builds on Check.
    from tentacular.deploy._kube.kernel_layers import check_kernel_layers

    runtime = checks[2]
    verified = bool(plan.runtime_class) and runtime.passed and not runtime.warning
    checks.append(
        check_kernel_layers(
            client,
            plan.runtime_class,
            runtime_class_verified=verified,
            known=runtime_class,
        )
    )
    return checks, deployment


def refusals(checks: Sequence[Check]) -> list[Check]:
    return [c for c in checks if not c.passed]
