"""``tntc release plan``: a unit's objects against what the cluster has now (K-R2).

Live objects are projected onto the shape of the desired ones before diffing, so server
defaults do not drown the review while every field tntc sets (and any list item added
by hand) shows. An object whose live hash still equals the desired one but whose fields
differ was edited by hand since it was applied: it is reported as ``drifted``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from tentacular.deploy._kube.apply import live_for_apply
from tentacular.deploy._kube.client import CLUSTER_SCOPED, CONFIG_MAP, DEPLOYMENT, SECRET, KubeClient, kind_of
from tentacular.deploy._kube.live import LiveState, stale_in
from tentacular.deploy._labels import APPLIED_ANNOTATION, OBJECT_HASH_ANNOTATION
from tentacular.deploy._render import to_yaml
from tentacular.deploy._versions import UNHASHED, is_code_configmap, live_code_name, object_hash

NETWORK_RBAC_KINDS = frozenset(
    {"NetworkPolicy", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
)
RISKY_POD_FIELDS = (
    "runtimeClassName",
    "securityContext",
    "automountServiceAccountToken",
    "serviceAccountName",
    "hostNetwork",
    "hostPID",
    "hostIPC",
)
_ABSENT = object()


def project(live: Any, desired: Any) -> Any:
    """``live`` reduced to the keys ``desired`` has (recursively); extra list items are kept."""
    if isinstance(desired, Mapping) and isinstance(live, Mapping):
        return {k: project(live[k], v) for k, v in desired.items() if k in live}
    if isinstance(desired, list) and isinstance(live, list):
        return [project(a, b) for a, b in zip(live, desired, strict=False)] + list(live[len(desired) :])
    return live


def _reviewable(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Without stamps, hash and the version record: what a reviewer compares."""
    copied = {k: v for k, v in obj.items() if k != "status"}
    meta = dict(copied.get("metadata") or {})
    hidden = UNHASHED | {APPLIED_ANNOTATION}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in hidden}
    meta["annotations"] = annotations
    copied["metadata"] = meta
    return copied


def _pod_spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Deployment":
        return dict(spec.get("template", {}).get("spec", {}))
    if obj.get("kind") == "CronJob":
        return dict(spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {}))
    return {}


def risky_changes(desired: Mapping[str, Any], live: Mapping[str, Any]) -> list[str]:
    want, have = _pod_spec(desired), _pod_spec(live)
    risky = [
        f"pod {key}"
        for key in RISKY_POD_FIELDS
        if want.get(key) != have.get(key) and (key in want or key in have)
    ]
    have_containers = {c.get("name"): c for c in have.get("containers") or []}
    for container in want.get("containers") or []:
        other = have_containers.get(container.get("name"), {})
        if container.get("securityContext") != other.get("securityContext"):
            risky.append(f"container {container.get('name')} securityContext")
    return risky


def immutable_conflicts(desired: Mapping[str, Any], live: Mapping[str, Any]) -> list[str]:
    """Changes the API server would refuse: they need the object deleted and re-created."""
    conflicts: list[str] = []
    if desired["kind"] == "Deployment" and (desired.get("spec") or {}).get("selector") != (
        live.get("spec") or {}
    ).get("selector"):
        conflicts.append("spec.selector is immutable")
    changed_data = desired.get("data") != live.get("data") or desired.get("binaryData") != live.get(
        "binaryData"
    )
    if desired["kind"] == "ConfigMap" and live.get("immutable") and changed_data:
        conflicts.append("data of an immutable ConfigMap")
    return conflicts


def _unified(before: str, after: str, name: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"live/{name}", f"unit/{name}"
    )
    return "".join(lines)


def object_entry(desired: dict[str, Any], live: dict[str, Any] | None) -> dict[str, Any]:
    ref = f"{desired['kind']}/{desired['metadata']['name']}"
    if live is None:
        return {"object": ref, "action": "create", "diff": _unified("", to_yaml([_reviewable(desired)]), ref)}
    shown = project(_reviewable(live), _reviewable(desired))
    before, after = to_yaml([shown]), to_yaml([_reviewable(desired)])
    same_hash = ((live.get("metadata") or {}).get("annotations") or {}).get(
        OBJECT_HASH_ANNOTATION
    ) == object_hash(desired)
    action = "unchanged" if before == after else "drifted" if same_hash else "update"
    entry: dict[str, Any] = {"object": ref, "action": action}
    if action != "unchanged":
        entry["diff"] = _unified(before, after, ref)
        entry["risky"] = risky_changes(desired, live)
        entry["immutableConflicts"] = immutable_conflicts(desired, live)
    return entry


def _image(obj: Mapping[str, Any] | None) -> str | None:
    containers = _pod_spec(obj or {}).get("containers") or [{}]
    image = containers[0].get("image")
    return str(image) if image else None


def code_diff(
    kube: KubeClient, live_name: str | None, desired: Mapping[str, Any] | None, state: LiveState
) -> str:
    """A unified diff of every shipped file between the live code ConfigMap and the unit's."""
    if desired is None or live_name is None or live_name == desired["metadata"]["name"]:
        return ""
    known = state.get(CONFIG_MAP, live_name)
    if known is None and CONFIG_MAP not in state.read:
        known = kube.get(CONFIG_MAP, live_name, state.namespace)
    live = known or {}
    before, after = dict(live.get("data") or {}), dict(desired.get("data") or {})
    chunks: list[str] = []
    for key in sorted(before.keys() | after.keys()):
        chunks.extend(
            difflib.unified_diff(
                str(before.get(key, "")).splitlines(keepends=True),
                str(after.get(key, "")).splitlines(keepends=True),
                f"live/{key}" if key in before else "/dev/null",
                f"unit/{key}" if key in after else "/dev/null",
            )
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)


def plan_objects(
    kube: KubeClient,
    objects: Sequence[dict[str, Any]],
    *,
    workflow: str,
    namespace: str,
    secret: Mapping[str, Any],
) -> dict[str, Any]:
    """The whole plan: per-object actions and diffs, image and code changes, prunes, secret keys.

    The live objects are read as the apply reads them (deploy._kube.live), so the plan shows what
    the apply will see."""
    state = live_for_apply(kube, objects, workflow=workflow, namespace=namespace)
    entries = [object_entry(obj, state.get(kind_of(obj), obj["metadata"]["name"])) for obj in objects]
    desired_deployment = next((o for o in objects if o["kind"] == "Deployment"), None)
    live_deployment = state.get(DEPLOYMENT, workflow)
    cluster_rbac = any(kind_of(o) in CLUSTER_SCOPED for o in objects) or state.cluster_rbac()
    changed = [e for e in entries if e["action"] != "unchanged"]
    desired_code = next((o for o in objects if is_code_configmap(o)), None)
    code_name = desired_code["metadata"]["name"] if desired_code else None
    secret_live = kube.get(SECRET, str(secret["name"]), namespace)
    have_keys = set((secret_live or {}).get("data") or {})
    wanted_keys = sorted({ref.split(".", 1)[0] for ref in secret.get("keys") or []})
    return {
        "namespace": namespace,
        "objects": entries,
        "changes": len(changed),
        "image": {"live": _image(live_deployment), "unit": _image(desired_deployment)},
        "code": {
            "live": live_code_name(live_deployment),
            "unit": code_name,
            "diff": code_diff(kube, live_code_name(live_deployment), desired_code, state),
        },
        "networkRbac": [e["object"] for e in changed if e["object"].split("/")[0] in NETWORK_RBAC_KINDS],
        "risky": [f"{e['object']}: {r}" for e in changed for r in e.get("risky") or []],
        "immutableConflicts": [
            f"{e['object']}: {c}" for e in changed for c in e.get("immutableConflicts") or []
        ],
        "prune": [
            f"{o['kind']}/{o['metadata']['name']}"
            for o in stale_in(state, objects, cluster_rbac=cluster_rbac)
        ],
        "secret": {
            "name": secret["name"],
            "exists": secret_live is not None,
            "missingKeys": [k for k in wanted_keys if k not in have_keys],
        },
    }
