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
    MANAGED_BY,
    MANAGED_BY_LABEL,
    NAME_LABEL,
    NAMESPACE_LABEL,
    WORKFLOW_LABEL,
)
from tentacular.errors import ClusterApplyError, ClusterError

Action = Literal["created", "configured", "unchanged", "pruned", "deleted"]

# Kinds a redeploy may leave behind when the spec shrinks. Secrets are deliberately absent: a
# deploy from a machine without local secrets must not delete the ones the cluster already has.
PRUNABLE: tuple[Kind, ...] = (
    CRON_JOB,
    INGRESS,
    NETWORK_POLICY,
    SERVICE_ACCOUNT,
    CLUSTER_ROLE_BINDING,
    CLUSTER_ROLE,
)
# Everything undeploy removes, dependants first so nothing is left half-wired.
OWNED: tuple[Kind, ...] = (
    CRON_JOB,
    INGRESS,
    SERVICE,
    DEPLOYMENT,
    NETWORK_POLICY,
    CONFIG_MAP,
    SECRET,
    CLUSTER_ROLE_BINDING,
    CLUSTER_ROLE,
    SERVICE_ACCOUNT,
)


@dataclass(frozen=True)
class ObjectAction:
    ref: str
    action: Action

    def to_dict(self) -> dict[str, str]:
        return {"object": self.ref, "action": self.action}


@dataclass
class ApplyReport:
    actions: list[ObjectAction] = field(default_factory=list)

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
        action = _action(before, after)
        report.actions.append(ObjectAction(ref, action))
        on_action(report.actions[-1])
    for stale in stale_objects(client, objects, workflow=workflow, namespace=namespace):
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


def _owned_by(obj: Mapping[str, Any], namespace: str) -> bool:
    """Cluster-scoped objects carry the namespace label, so another namespace's workflow is left alone."""
    if kind_of(obj) not in CLUSTER_SCOPED:
        return True
    return (obj.get("metadata", {}).get("labels") or {}).get(NAMESPACE_LABEL) == namespace


def owned_objects(
    client: KubeClient, workflow: str, namespace: str, kinds: Sequence[Kind] = OWNED
) -> list[dict[str, Any]]:
    """Every object of this workflow in this namespace, found by its labels."""
    found: list[dict[str, Any]] = []
    for kind in kinds:
        scope = None if kind in CLUSTER_SCOPED else namespace
        for obj in client.list(kind, scope, labels=workflow_selector(workflow)):
            obj.setdefault("apiVersion", kind.api_version)
            obj.setdefault("kind", kind.kind)
            if _owned_by(obj, namespace):
                found.append(obj)
    return found


def stale_objects(
    client: KubeClient, desired: Sequence[Mapping[str, Any]], *, workflow: str, namespace: str
) -> list[dict[str, Any]]:
    wanted = {(kind_of(o), o["metadata"]["name"]) for o in desired}
    return [
        obj
        for obj in owned_objects(client, workflow, namespace, PRUNABLE)
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
    for obj in owned_objects(client, workflow, namespace):
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
