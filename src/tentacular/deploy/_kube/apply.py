"""Apply a workflow's object list in order, prune what it no longer needs, remove it (D6, Q15, Q16)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tentacular.deploy._kube.client import (
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    CLUSTER_SCOPED,
    CONFIG_MAP,
    CRON_JOB,
    DEPLOYMENT,
    INGRESS,
    NETWORK_POLICY,
    POD,
    SECRET,
    SERVICE,
    SERVICE_ACCOUNT,
    Kind,
    KubeClient,
    describe,
    kind_of,
)
from tentacular.deploy._labels import (
    CLUSTER_RBAC_ANNOTATION,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    NAME_LABEL,
    NAMESPACE_LABEL,
    WORKFLOW_LABEL,
)
from tentacular.deploy._rbac import cluster_role_name
from tentacular.errors import ClusterApplyError, ClusterError

Action = Literal["created", "configured", "unchanged", "pruned", "deleted", "reclaimed"]

# Kinds a redeploy may leave behind when the spec shrinks. Secrets are deliberately absent: a
# deploy from a machine without local secrets must not delete the ones the cluster already has.
PRUNABLE: tuple[Kind, ...] = (CRON_JOB, INGRESS, NETWORK_POLICY)
# Everything undeploy removes, dependants first so nothing is left half-wired.
OWNED: tuple[Kind, ...] = (CRON_JOB, INGRESS, SERVICE, DEPLOYMENT, NETWORK_POLICY, CONFIG_MAP, SECRET)
# Only for workflows that declare cluster RBAC now or did in the version being replaced (the
# CLUSTER_RBAC_ANNOTATION on its namespaced objects says so): a namespaced workflow never makes a
# cluster-scoped call, so a deployer with ``edit`` in one namespace can run every command. The
# cluster-scoped objects are read by their one possible name, never listed.
RBAC_KINDS: tuple[Kind, ...] = (CLUSTER_ROLE_BINDING, CLUSTER_ROLE, SERVICE_ACCOUNT)


@dataclass(frozen=True)
class ObjectAction:
    ref: str
    action: Action

    def to_dict(self) -> dict[str, str]:
        return {"object": self.ref, "action": self.action}


@dataclass
class ApplyReport:
    actions: list[ObjectAction] = field(default_factory=list)
    #: The live objects before and after this apply (same order as applied; ``None``: created).
    before: list[dict[str, Any] | None] = field(default_factory=list, repr=False)
    after: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def changed(self) -> list[str]:
        return [a.ref for a in self.actions if a.action != "unchanged"]

    def to_list(self) -> list[dict[str, str]]:
        return [a.to_dict() for a in self.actions]


def workflow_selector(name: str) -> dict[str, str]:
    return {NAME_LABEL: name, MANAGED_BY_LABEL: MANAGED_BY}


def apply_objects(
    client: KubeClient,
    objects: Sequence[Mapping[str, Any]],
    *,
    workflow: str,
    namespace: str,
    on_action: Callable[[ObjectAction], None] = lambda _: None,
    prepare: Callable[[Mapping[str, Any], Mapping[str, Any] | None], Mapping[str, Any]] | None = None,
) -> ApplyReport:
    """Server-side apply every object in the given order, then prune stale ones.

    ``prepare(object, live)`` may adjust each object once its live state is known (the version
    stamps of deploy._versions: carried over when the content is unchanged).

    Stops at the first failure: what was applied so far stays (the previous Deployment keeps
    serving until its own apply succeeds) and the error lists it; re-running converges.
    """
    report = ApplyReport()
    cluster_rbac = any(kind_of(o) in CLUSTER_SCOPED for o in objects)
    for obj in objects:
        ref = describe(obj)
        try:
            before = client.get(kind_of(obj), obj["metadata"]["name"], obj["metadata"].get("namespace"))
            after = client.apply(obj if prepare is None else prepare(obj, before))
        except ClusterError as error:
            applied = [a.ref for a in report.actions]
            raise ClusterApplyError(
                f"apply stopped at {ref}: {error.message}",
                hint=(error.hint or "") + (" — " if error.hint else "") + "re-run the deploy to converge; "
                "objects not yet applied still hold the previous version",
                applied=applied,
                failed=ref,
                cause=error.code,
            ) from None
        cluster_rbac = cluster_rbac or declares_cluster_rbac(before)
        report.before.append(before)
        report.after.append(after)
        report.actions.append(ObjectAction(ref, _action(before, after)))
        on_action(report.actions[-1])
    for stale in stale_objects(
        client, objects, workflow=workflow, namespace=namespace, cluster_rbac=cluster_rbac
    ):
        client.delete(kind_of(stale), stale["metadata"]["name"], stale["metadata"].get("namespace"))
        report.actions.append(ObjectAction(describe(stale), "pruned"))
        on_action(report.actions[-1])
    return report


def _action(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> Action:
    if before is None:
        return "created"
    old = (before.get("metadata") or {}).get("resourceVersion")
    new = (after.get("metadata") or {}).get("resourceVersion")
    return "unchanged" if old == new else "configured"


def declares_cluster_rbac(obj: Mapping[str, Any] | None) -> bool:
    annotations = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    return annotations.get(CLUSTER_RBAC_ANNOTATION) == "true"


def _belongs(obj: Mapping[str, Any], workflow: str, namespace: str) -> bool:
    """A cluster-scoped object found by name is ours only if its labels say this namespace's workflow."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return (
        labels.get(NAME_LABEL) == workflow
        and labels.get(MANAGED_BY_LABEL) == MANAGED_BY
        and labels.get(NAMESPACE_LABEL) == namespace
    )


def owned_objects(
    client: KubeClient,
    workflow: str,
    namespace: str,
    kinds: Sequence[Kind] = OWNED,
    *,
    cluster_rbac: bool = False,
) -> list[dict[str, Any]]:
    """Every object of this workflow in this namespace, found by its labels; with ``cluster_rbac``
    also its ServiceAccounts and its ClusterRole/ClusterRoleBinding (read by name)."""
    found: list[dict[str, Any]] = []
    wanted = [*kinds, *(RBAC_KINDS if cluster_rbac else ())]
    for kind in dict.fromkeys(wanted):
        if kind in CLUSTER_SCOPED:
            obj = client.get(kind, cluster_role_name(namespace, workflow))
            items = [obj] if obj is not None and _belongs(obj, workflow, namespace) else []
        else:
            items = client.list(kind, namespace, labels=workflow_selector(workflow))
        for item in items:
            item.setdefault("apiVersion", kind.api_version)
            item.setdefault("kind", kind.kind)
            found.append(item)
    return found


def stale_objects(
    client: KubeClient,
    desired: Sequence[Mapping[str, Any]],
    *,
    workflow: str,
    namespace: str,
    cluster_rbac: bool | None = None,
) -> list[dict[str, Any]]:
    """What the workflow owns that ``desired`` no longer has. ``cluster_rbac=None``: decide as a
    deploy does — ``desired`` has cluster-scoped objects or the live Deployment carries the marker."""
    if cluster_rbac is None:
        cluster_rbac = any(kind_of(o) in CLUSTER_SCOPED for o in desired) or declares_cluster_rbac(
            client.get(DEPLOYMENT, workflow, namespace)
        )
    wanted = {(kind_of(o), o["metadata"]["name"]) for o in desired}
    return [
        obj
        for obj in owned_objects(client, workflow, namespace, PRUNABLE, cluster_rbac=cluster_rbac)
        if (kind_of(obj), obj["metadata"]["name"]) not in wanted
    ]


def remove_workflow(
    client: KubeClient,
    workflow: str,
    namespace: str,
    *,
    on_action: Callable[[ObjectAction], None] = lambda _: None,
) -> list[ObjectAction]:
    """Delete everything the workflow owns, by label, plus its Secret by name (it may predate tntc)."""
    removed: list[ObjectAction] = []
    seen: set[str] = set()
    namespaced = owned_objects(client, workflow, namespace)
    if any(declares_cluster_rbac(obj) for obj in namespaced):
        namespaced += owned_objects(client, workflow, namespace, (), cluster_rbac=True)
    for obj in namespaced:
        ref = describe(obj)
        if client.delete(kind_of(obj), obj["metadata"]["name"], obj["metadata"].get("namespace")):
            removed.append(ObjectAction(ref, "deleted"))
            seen.add(ref)
            on_action(removed[-1])
    secret = f"{workflow}-secrets"
    if f"Secret/{secret}" not in seen and client.delete(SECRET, secret, namespace):
        removed.append(ObjectAction(f"Secret/{secret}", "deleted"))
        on_action(removed[-1])
    for pod in client.list(POD, namespace, labels={WORKFLOW_LABEL: workflow, MANAGED_BY_LABEL: MANAGED_BY}):
        if client.delete(POD, pod["metadata"]["name"], namespace):
            removed.append(ObjectAction(f"Pod/{pod['metadata']['name']}", "deleted"))
            on_action(removed[-1])
    return removed
