"""What one apply needs to know of the cluster, read with one labelled LIST per kind (issue 15).

Stamps, no-op detection, drift before the apply, pruning and the retained code versions all
come from the same reads: the workflow's objects of every kind it renders now or rendered in
the version being replaced. That version's kinds are recorded on its Deployment
(``tentacular.io/kinds``), so a workflow without an Ingress never lists Ingresses; a
Deployment without the record (a first deploy, or one by an older tntc) means every kind a
workflow can own is read once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tentacular.deploy._kube.client import (
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    CLUSTER_SCOPED,
    CONFIG_MAP,
    CRON_JOB,
    DEPLOYMENT,
    HTTP_ROUTE,
    INGRESS,
    NETWORK_POLICY,
    SECRET,
    SERVICE,
    SERVICE_ACCOUNT,
    Kind,
    KubeClient,
    kind_of,
)
from tentacular.deploy._kube.drift import drift_of
from tentacular.deploy._labels import (
    CLUSTER_RBAC_ANNOTATION,
    KINDS_ANNOTATION,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    NAME_LABEL,
    NAMESPACE_LABEL,
    OBJECT_HASH_ANNOTATION,
)
from tentacular.deploy._rbac import cluster_role_name
from tentacular.errors import ClusterNotFoundError

# Kinds a redeploy may leave behind when the spec shrinks. Secrets are deliberately absent: a
# deploy from a machine without local secrets must not delete the ones the cluster already has.
PRUNABLE: tuple[Kind, ...] = (CRON_JOB, INGRESS, HTTP_ROUTE, NETWORK_POLICY)
# Everything undeploy removes, dependants first so nothing is left half-wired.
OWNED: tuple[Kind, ...] = (
    CRON_JOB,
    INGRESS,
    HTTP_ROUTE,
    SERVICE,
    DEPLOYMENT,
    NETWORK_POLICY,
    CONFIG_MAP,
    SECRET,
)
# Only for workflows that declare cluster RBAC now or did in the version being replaced (the
# CLUSTER_RBAC_ANNOTATION on its namespaced objects says so): a namespaced workflow never makes a
# cluster-scoped call, so a deployer with ``edit`` in one namespace can run every command. The
# cluster-scoped objects are read by their one possible name, never listed.
RBAC_KINDS: tuple[Kind, ...] = (CLUSTER_ROLE_BINDING, CLUSTER_ROLE, SERVICE_ACCOUNT)
# Kinds whose API may not be served at all (a CRD): a 404 on their LIST means "none of them".
OPTIONAL_APIS = frozenset({HTTP_ROUTE})
# Read only when rendered now or recorded on the Deployment: the built-in ``edit`` role does not
# cover the Gateway API, so a namespaced deployer could not even ask (403 before 404).
GATED = frozenset({HTTP_ROUTE})
# Applied before the Deployment (so before its record is updated): an apply that stops in
# between may leave one the record does not name, so these are always read.
BEFORE_RECORD: tuple[Kind, ...] = (NETWORK_POLICY,)

Key = tuple[Kind, str]


def workflow_selector(name: str) -> dict[str, str]:
    return {NAME_LABEL: name, MANAGED_BY_LABEL: MANAGED_BY}


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


def kinds_record(kinds: Iterable[Kind]) -> str:
    """The annotation value: ``apps/v1/Deployment,v1/ConfigMap,...`` (sorted, so it is stable)."""
    return ",".join(sorted({f"{k.api_version}/{k.kind}" for k in kinds}))


def recorded_kinds(deployment: Mapping[str, Any] | None) -> set[Kind] | None:
    """The kinds the Deployment's version rendered, or None when it carries no record."""
    annotations = ((deployment or {}).get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(KINDS_ANNOTATION)
    if not raw:
        return None
    kinds = set()
    for entry in str(raw).split(","):
        api_version, _, kind = entry.strip().rpartition("/")
        if api_version and kind:
            kinds.add(Kind(api_version, kind))
    return kinds


class Unread:
    """Marks an argument the caller did not read (as opposed to read and found absent: None)."""


UNREAD = Unread()


@dataclass
class LiveState:
    """The workflow's live objects of the kinds read, by kind and name."""

    workflow: str
    namespace: str
    objects: dict[Key, dict[str, Any]] = field(default_factory=dict)
    read: set[Kind] = field(default_factory=set)
    #: No Deployment of the workflow: only what an interrupted earlier apply may have left was read.
    first_install: bool = False

    def get(self, kind: Kind, name: str) -> dict[str, Any] | None:
        return self.objects.get((kind, name))

    @property
    def deployment(self) -> dict[str, Any] | None:
        return self.get(DEPLOYMENT, self.workflow)

    def of_kinds(self, kinds: Iterable[Kind]) -> list[dict[str, Any]]:
        wanted = set(kinds)
        return [obj for (kind, _), obj in self.objects.items() if kind in wanted]

    def cluster_rbac(self) -> bool:
        """Any namespaced object of the workflow says it declared cluster RBAC."""
        return any(declares_cluster_rbac(obj) for obj in self.objects.values())

    def put(self, obj: dict[str, Any]) -> None:
        self.objects[(kind_of(obj), obj["metadata"]["name"])] = obj


def _read_kind(client: KubeClient, state: LiveState, kind: Kind) -> None:
    if kind in state.read:
        return
    state.read.add(kind)
    if kind in CLUSTER_SCOPED:
        obj = client.get(kind, cluster_role_name(state.namespace, state.workflow))
        items = [obj] if obj is not None and _belongs(obj, state.workflow, state.namespace) else []
    else:
        try:
            items = client.list(kind, state.namespace, labels=workflow_selector(state.workflow))
        except ClusterNotFoundError:
            if kind not in OPTIONAL_APIS:
                raise
            items = []  # the API (a CRD) is not installed: there are none
    for item in items:
        item.setdefault("apiVersion", kind.api_version)
        item.setdefault("kind", kind.kind)
        state.put(item)


def read_live(
    client: KubeClient,
    workflow: str,
    namespace: str,
    kinds: Sequence[Kind],
    *,
    cluster_rbac: bool | None = False,
    deployment: Mapping[str, Any] | Unread | None = UNREAD,
) -> LiveState:
    """One read per kind; with ``cluster_rbac`` the RBAC kinds too (``None``: when rendered or a
    live object says the workflow declared it).

    ``deployment``: the live Deployment when the caller already read it (the preflight does)."""
    state = LiveState(workflow, namespace)
    if not isinstance(deployment, Unread):
        state.read.add(DEPLOYMENT)
        if deployment is not None:
            state.put({"apiVersion": DEPLOYMENT.api_version, "kind": DEPLOYMENT.kind, **deployment})
    for kind in dict.fromkeys(kinds):
        if kind not in CLUSTER_SCOPED:
            _read_kind(client, state, kind)
    if cluster_rbac is None:
        cluster_rbac = state.cluster_rbac() or any(k in CLUSTER_SCOPED for k in kinds)
    if cluster_rbac:
        for kind in (*RBAC_KINDS, *(k for k in kinds if k in CLUSTER_SCOPED)):
            _read_kind(client, state, kind)
    return state


def kinds_to_read(
    deployment: Mapping[str, Any] | None, kinds: Sequence[Kind], desired: Sequence[Mapping[str, Any]] = ()
) -> list[Kind]:
    """Of ``kinds``: those rendered now, recorded by the replaced version, or applied before its
    record; without a record (first deploy, older tntc) every one except the GATED ones."""
    now = {kind_of(o) for o in desired}
    before = recorded_kinds(deployment)
    return [
        k
        for k in kinds
        if k in now or k in BEFORE_RECORD or (k in before if before is not None else k not in GATED)
    ]


def kinds_for_apply(desired: Sequence[Mapping[str, Any]], deployment: Mapping[str, Any] | None) -> list[Kind]:
    """Every kind rendered now, then what the replaced version may have left behind. Without a
    Deployment (a first install) only the kinds applied before it: an apply interrupted there
    is the one way to leave objects behind without one, and a stray NetworkPolicy would cut
    the new pods off. Everything else is applied unread (nothing to carry over or prune)."""
    if deployment is None:
        return list(BEFORE_RECORD)
    now = [kind_of(o) for o in desired]
    return list(dict.fromkeys([*now, *kinds_to_read(deployment, PRUNABLE, desired)]))


def stale_in(
    state: LiveState, desired: Sequence[Mapping[str, Any]], *, cluster_rbac: bool
) -> list[dict[str, Any]]:
    """What the workflow owns of the prunable kinds (and its RBAC objects) that ``desired`` lacks."""
    wanted = {(kind_of(o), o["metadata"]["name"]) for o in desired}
    kinds = [*PRUNABLE, *(RBAC_KINDS if cluster_rbac else ())]
    return [
        obj
        for kind in kinds
        for obj in state.of_kinds([kind])
        if (kind_of(obj), obj["metadata"]["name"]) not in wanted
    ]


def _within(desired: Any, live: Any) -> bool:
    """Every field of ``desired`` is in ``live`` with the same value; lists item by item, same length."""
    if isinstance(desired, Mapping):
        return isinstance(live, Mapping) and all(
            k in live and _within(v, live[k]) for k, v in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(_within(a, b) for a, b in zip(desired, live, strict=True))
        )
    return bool(desired == live)


def already_applied(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> bool:
    """Applying ``desired`` (stamped) would change nothing: the live object carries the same hash,
    holds every field as rendered, and no other manager owns a field of it (whose value an apply
    would take back). Anything less certain is applied: a needless apply costs a request, a
    wrongly skipped one would leave the cluster different from what the user deployed."""
    if live is None:
        return False
    want = ((desired.get("metadata") or {}).get("annotations") or {}).get(OBJECT_HASH_ANNOTATION)
    have = ((live.get("metadata") or {}).get("annotations") or {}).get(OBJECT_HASH_ANNOTATION)
    return want is not None and want == have and not drift_of(live) and _within(desired, live)
