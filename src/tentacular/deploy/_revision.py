"""The one apply mechanism of ``tntc deploy``, ``tntc rollback`` and ``tntc release apply``.

apply (stamped, with the version record on the code ConfigMap, stale objects pruned) →
wait for the rollout → prune code versions beyond ``keep``. Callers choose the objects:
freshly rendered ones, what an older version recorded, or what a release unit bundled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tentacular.deploy._kube.apply import ApplyReport, ObjectAction, apply_objects, workflow_selector
from tentacular.deploy._kube.client import CONFIG_MAP, DEPLOYMENT, KubeClient
from tentacular.deploy._kube.live import UNREAD, LiveState, Unread
from tentacular.deploy._kube.waiting import wait_for_rollout
from tentacular.deploy._versions import (
    CodeVersion,
    Stamp,
    code_version,
    deployed_by,
    is_code_configmap,
    live_code_name,
    now_rfc3339,
    stamped,
    to_prune,
    with_record,
)

OnAction = Callable[[ObjectAction], None]


def stamp_for(kube: KubeClient, release: str) -> Stamp:
    return Stamp(deployed_by=deployed_by(kube.user), deployed_at=now_rfc3339(), release=release)


def apply_revision(
    kube: KubeClient,
    objects: Sequence[Mapping[str, Any]],
    *,
    workflow: str,
    namespace: str,
    stamp: Stamp,
    on_action: OnAction = lambda _: None,
    deployment: Mapping[str, Any] | Unread | None = UNREAD,
) -> ApplyReport:
    """Apply ``objects`` as one revision: each object stamped, the code ConfigMap recording the rest.
    ``deployment``: the live Deployment when the caller (the preflight) already read it."""
    recorded = with_record(objects, stamp.release, workflow=workflow, namespace=namespace)
    return apply_objects(
        kube,
        recorded,
        workflow=workflow,
        namespace=namespace,
        on_action=on_action,
        prepare=lambda obj, live: stamped(obj, live, stamp),
        deployment=deployment,
    )


def code_versions(
    kube: KubeClient, workflow: str, namespace: str, *, deployment: Mapping[str, Any] | None = None
) -> tuple[list[CodeVersion], str | None]:
    """Every retained code ConfigMap of the workflow (legacy ``{wf}-code`` too) and the live one's name;
    ``deployment``: the live Deployment when the caller just read it (saves a request)."""
    live = live_code_name(deployment if deployment is not None else kube.get(DEPLOYMENT, workflow, namespace))
    found = kube.list(CONFIG_MAP, namespace, labels=workflow_selector(workflow))
    return _versions_of(found, workflow, live), live


def _versions_of(found: Iterable[Mapping[str, Any]], workflow: str, live: str | None) -> list[CodeVersion]:
    return [
        code_version(cm, live)
        for cm in found
        if is_code_configmap(cm) or (cm.get("metadata") or {}).get("name") == f"{workflow}-code"
    ]


def retained_after(
    kube: KubeClient,
    workflow: str,
    namespace: str,
    *,
    deployment: Mapping[str, Any] | None,
    live_state: LiveState | None,
) -> tuple[list[CodeVersion], str | None]:
    """code_versions after an apply: from what it read and applied (a first install knows its
    one version without listing)."""
    readable = live_state is not None and (CONFIG_MAP in live_state.read or live_state.first_install)
    if live_state is not None and readable and deployment is not None:
        live = live_code_name(deployment)
        return _versions_of(live_state.of_kinds([CONFIG_MAP]), workflow, live), live
    return code_versions(kube, workflow, namespace, deployment=deployment)


def prune_versions(
    kube: KubeClient,
    workflow: str,
    namespace: str,
    *,
    keep: int,
    protect: Iterable[str | None] = (),
    on_action: OnAction = lambda _: None,
    deployment: Mapping[str, Any] | None = None,
    live_state: LiveState | None = None,
) -> list[ObjectAction]:
    """After a successful rollout: delete code ConfigMaps beyond the ``keep`` newest (never the live one).

    ``live_state``: what the apply read and applied — its ConfigMaps are every retained version,
    so nothing is listed again."""
    versions, live = retained_after(kube, workflow, namespace, deployment=deployment, live_state=live_state)
    pruned: list[ObjectAction] = []
    for name in to_prune(versions, keep, (live, *protect)):
        if kube.delete(CONFIG_MAP, name, namespace):
            pruned.append(ObjectAction(f"ConfigMap/{name}", "pruned"))
            on_action(pruned[-1])
    return pruned


@dataclass(frozen=True)
class RevisionResult:
    apply: ApplyReport
    deployment: dict[str, Any] | None


def roll_out(
    kube: KubeClient,
    objects: Sequence[Mapping[str, Any]],
    *,
    workflow: str,
    namespace: str,
    stamp: Stamp,
    timeout: float,
    keep: int | None,
    on_action: OnAction = lambda _: None,
    deployment: Mapping[str, Any] | Unread | None = UNREAD,
) -> RevisionResult:
    """apply_revision, wait for the rollout, then (with ``keep``) prune old code versions."""
    report = apply_revision(
        kube,
        objects,
        workflow=workflow,
        namespace=namespace,
        stamp=stamp,
        on_action=on_action,
        deployment=deployment,
    )
    deployment = wait_for_rollout(
        kube, workflow, namespace, timeout=timeout, deployment=applied_deployment(report, workflow)
    )
    if keep is not None:
        report.actions.extend(
            prune_versions(
                kube,
                workflow,
                namespace,
                keep=keep,
                on_action=on_action,
                deployment=deployment,
                live_state=report.live,
            )
        )
    return RevisionResult(report, deployment)


def applied_deployment(report: ApplyReport, workflow: str) -> dict[str, Any] | None:
    """The workflow's Deployment as this apply left it (None: the apply did not include it)."""
    return None if report.live is None else report.live.get(DEPLOYMENT, workflow)


def code_configmap_of(objects: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    return next((o for o in objects if is_code_configmap(o)), None)
