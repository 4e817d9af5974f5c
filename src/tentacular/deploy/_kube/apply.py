"""Apply a workflow's object list in order, prune what it no longer needs, remove it (D6, Q15, Q16)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tentacular.deploy._kube.client import (
    CLUSTER_SCOPED,
    DEPLOYMENT,
    POD,
    SECRET,
    Kind,
    KubeClient,
    describe,
    kind_of,
)
from tentacular.deploy._kube.live import (
    GATED,
    OWNED,
    PRUNABLE,
    RBAC_KINDS,
    UNREAD,
    LiveState,
    Unread,
    already_applied,
    declares_cluster_rbac,
    kinds_for_apply,
    kinds_record,
    read_live,
    recorded_kinds,
    stale_in,
    workflow_selector,
)
from tentacular.deploy._labels import KINDS_ANNOTATION, MANAGED_BY, MANAGED_BY_LABEL, WORKFLOW_LABEL
from tentacular.errors import ClusterApplyError, ClusterError

Action = Literal["created", "configured", "unchanged", "pruned", "deleted", "reclaimed"]
Prepare = Callable[[Mapping[str, Any], Mapping[str, Any] | None], Mapping[str, Any]]

__all__ = [
    "OWNED",
    "PRUNABLE",
    "RBAC_KINDS",
    "ApplyReport",
    "ObjectAction",
    "apply_objects",
    "declares_cluster_rbac",
    "owned_objects",
    "remove_workflow",
    "workflow_selector",
]


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
    #: What the apply read, updated with what it applied (code versions and the rollout use it).
    live: LiveState | None = field(default=None, repr=False)

    @property
    def changed(self) -> list[str]:
        return [a.ref for a in self.actions if a.action != "unchanged"]

    def to_list(self) -> list[dict[str, str]]:
        return [a.to_dict() for a in self.actions]


def live_for_apply(
    client: KubeClient,
    objects: Sequence[Mapping[str, Any]],
    *,
    workflow: str,
    namespace: str,
    deployment: Mapping[str, Any] | Unread | None = UNREAD,
) -> LiveState:
    """The Deployment first (unless the caller read it): its record says which other kinds to list."""
    if isinstance(deployment, Unread):
        deployment = client.get(DEPLOYMENT, workflow, namespace)
    state = read_live(
        client,
        workflow,
        namespace,
        kinds_for_apply(objects, deployment),
        cluster_rbac=None,
        deployment=deployment,
    )
    state.first_install = deployment is None
    return state


def apply_objects(
    client: KubeClient,
    objects: Sequence[Mapping[str, Any]],
    *,
    workflow: str,
    namespace: str,
    on_action: Callable[[ObjectAction], None] = lambda _: None,
    prepare: Prepare | None = None,
    deployment: Mapping[str, Any] | Unread | None = UNREAD,
) -> ApplyReport:
    """Server-side apply every object in the given order that is not already as rendered, then
    prune stale ones.

    The live state comes from one read per kind (deploy._kube.live), not one per object;
    ``deployment``: the live Deployment when the caller already read it. ``prepare(object, live)``
    may adjust each object once its live state is known (the version stamps of deploy._versions:
    carried over when the content is unchanged). An object already as rendered is not sent.

    Stops at the first failure: what was applied so far stays (the previous Deployment keeps
    serving until its own apply succeeds) and the error lists it; re-running converges.
    """
    state = live_for_apply(client, objects, workflow=workflow, namespace=namespace, deployment=deployment)
    cluster_rbac = any(kind_of(o) in CLUSTER_SCOPED for o in objects) or state.cluster_rbac()
    stale = stale_in(state, objects, cluster_rbac=cluster_rbac)
    record = kinds_record([*(kind_of(o) for o in objects), *(kind_of(o) for o in stale)])
    report = ApplyReport(live=state)
    for obj in objects:
        ref = describe(obj)
        before = state.get(kind_of(obj), obj["metadata"]["name"])
        desired = dict(obj if prepare is None else prepare(obj, before))
        if kind_of(obj) == DEPLOYMENT and obj["metadata"]["name"] == workflow:
            desired = _with_annotation(desired, KINDS_ANNOTATION, record)
        try:
            after = (
                before if before is not None and already_applied(desired, before) else client.apply(desired)
            )
        except ClusterError as error:
            raise _stopped(error, ref, report) from None
        state.put(after)
        report.before.append(before)
        report.after.append(after)
        report.actions.append(ObjectAction(ref, _action(before, after)))
        on_action(report.actions[-1])
    for obj in stale:
        client.delete(kind_of(obj), obj["metadata"]["name"], obj["metadata"].get("namespace"))
        report.actions.append(ObjectAction(describe(obj), "pruned"))
        on_action(report.actions[-1])
    return report


def _with_annotation(obj: Mapping[str, Any], key: str, value: str) -> dict[str, Any]:
    meta = dict(obj.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}), key: value}
    return {**obj, "metadata": meta}


def _stopped(error: ClusterError, ref: str, report: ApplyReport) -> ClusterApplyError:
    return ClusterApplyError(
        f"apply stopped at {ref}: {error.message}",
        hint=(error.hint or "") + (" — " if error.hint else "") + "re-run the deploy to converge; "
        "objects not yet applied still hold the previous version",
        applied=[a.ref for a in report.actions],
        failed=ref,
        cause=error.code,
    )


def _action(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> Action:
    if before is None:
        return "created"
    old = (before.get("metadata") or {}).get("resourceVersion")
    new = (after.get("metadata") or {}).get("resourceVersion")
    return "unchanged" if old == new else "configured"


def owned_objects(
    client: KubeClient,
    workflow: str,
    namespace: str,
    kinds: Sequence[Kind] = OWNED,
    *,
    cluster_rbac: bool | None = False,
) -> list[dict[str, Any]]:
    """Every object of this workflow in this namespace, found by its labels; with ``cluster_rbac``
    also its ServiceAccounts and its ClusterRole/ClusterRoleBinding (read by name; ``None``: when
    a live object says the workflow declared cluster RBAC)."""
    return list(read_live(client, workflow, namespace, kinds, cluster_rbac=cluster_rbac).objects.values())


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
    deployment = client.get(DEPLOYMENT, workflow, namespace)
    # Every kind it can own; a gated one (HTTPRoute) when the Deployment records rendering it.
    recorded = recorded_kinds(deployment) or set()
    kinds = [k for k in OWNED if k not in GATED or k in recorded]
    state = read_live(client, workflow, namespace, kinds, cluster_rbac=None, deployment=deployment)
    # Dependants first (OWNED's order), the cluster RBAC last.
    order = {kind: index for index, kind in enumerate((*OWNED, *RBAC_KINDS))}
    for obj in sorted(state.objects.values(), key=lambda o: order.get(kind_of(o), len(order))):
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
