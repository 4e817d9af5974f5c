"""Re-target a unit's objects to another namespace: exactly the namespace-bearing fields, nothing else.

A unit is rendered once, for the namespace it was bundled for. The fields that name the
namespace are known and few: ``metadata.namespace``, the ``tentacular.io/namespace`` label
of cluster-scoped objects, the ClusterRole/Binding names and subjects, and the in-cluster
run URL of trigger CronJobs.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from tentacular.deploy._labels import NAMESPACE_LABEL
from tentacular.deploy._rbac import cluster_role_name


def retarget(
    objects: Iterable[Mapping[str, Any]], *, workflow: str, source: str, target: str
) -> list[dict[str, Any]]:
    result = [copy.deepcopy(dict(obj)) for obj in objects]
    if source == target:
        return result
    old_role, new_role = cluster_role_name(source, workflow), cluster_role_name(target, workflow)
    old_host, new_host = f".{source}.svc.cluster.local", f".{target}.svc.cluster.local"
    for obj in result:
        meta = obj.setdefault("metadata", {})
        if "namespace" in meta:
            meta["namespace"] = target
        labels = meta.get("labels") or {}
        if labels.get(NAMESPACE_LABEL) == source:
            labels[NAMESPACE_LABEL] = target
        if obj["kind"] in ("ClusterRole", "ClusterRoleBinding") and meta.get("name") == old_role:
            meta["name"] = new_role
        if obj["kind"] == "ClusterRoleBinding":
            if (obj.get("roleRef") or {}).get("name") == old_role:
                obj["roleRef"]["name"] = new_role
            for subject in obj.get("subjects") or []:
                if subject.get("namespace") == source:
                    subject["namespace"] = target
        if obj["kind"] == "CronJob":
            for container in _cron_containers(obj):
                container["command"] = [
                    part.replace(old_host, new_host) if isinstance(part, str) else part
                    for part in container.get("command") or []
                ]
    return result


def _cron_containers(cronjob: dict[str, Any]) -> list[dict[str, Any]]:
    template = cronjob.get("spec", {}).get("jobTemplate", {}).get("spec", {}).get("template", {})
    containers: list[dict[str, Any]] = template.get("spec", {}).get("containers") or []
    return containers
