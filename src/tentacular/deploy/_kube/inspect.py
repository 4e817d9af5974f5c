"""Read-only views of deployed workflows for ``tntc status`` and ``tntc list`` (§6.5.7, §6.5.10, F-329)."""

from __future__ import annotations

from typing import Any

from tentacular.deploy._kube.client import DEPLOYMENT, EVENT, POD, SERVICE, KubeClient
from tentacular.deploy._kube.waiting import rollout_state
from tentacular.deploy._labels import (
    DEPLOYED_AT_ANNOTATION,
    DEPLOYED_BY_ANNOTATION,
    GIT_SHA_ANNOTATION,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    NAME_LABEL,
    RELEASE_ANNOTATION,
    SOURCE_PATH_ANNOTATION,
    VERSION_LABEL,
)
from tentacular.errors import ClusterNotFoundError


def summary(deployment: dict[str, Any]) -> dict[str, Any]:
    meta = deployment["metadata"]
    complete, ready, desired = rollout_state(deployment)
    containers = deployment["spec"]["template"]["spec"].get("containers") or [{}]
    return {
        "name": meta["name"],
        "namespace": meta.get("namespace"),
        "version": (meta.get("labels") or {}).get(VERSION_LABEL),
        "ready": complete,
        "replicas": desired,
        "available": int((deployment.get("status") or {}).get("availableReplicas") or 0),
        "readyReplicas": ready,
        "image": containers[0].get("image"),
        "created": meta.get("creationTimestamp"),
        **provenance(meta.get("annotations") or {}),
    }


def provenance(annotations: dict[str, str]) -> dict[str, str | None]:
    """Who deployed what from where (roadmap #13), from the object's tentacular.io annotations."""
    return {
        "deployedBy": annotations.get(DEPLOYED_BY_ANNOTATION),
        "deployedAt": annotations.get(DEPLOYED_AT_ANNOTATION),
        "gitSha": annotations.get(GIT_SHA_ANNOTATION),
        "sourcePath": annotations.get(SOURCE_PATH_ANNOTATION),
        "release": annotations.get(RELEASE_ANNOTATION),
    }


def list_workflows(client: KubeClient, namespace: str | None) -> list[dict[str, Any]]:
    """``namespace=None``: every namespace (``tntc list -A``)."""
    found = client.list(DEPLOYMENT, namespace, labels={MANAGED_BY_LABEL: MANAGED_BY})
    return sorted((summary(d) for d in found), key=lambda s: (s["namespace"] or "", s["name"]))


def workflow_status(client: KubeClient, name: str, namespace: str, *, detail: bool) -> dict[str, Any]:
    deployment = client.get(DEPLOYMENT, name, namespace)
    if deployment is None:
        raise ClusterNotFoundError(
            f"workflow {name} not found in namespace {namespace}",
            hint=f"see what is deployed: tntc list -n {namespace}",
        )
    status = summary(deployment)
    if not status["ready"]:
        status["message"] = f"{status['readyReplicas']}/{status['replicas']} replicas ready"
    status["annotations"] = {
        k: v
        for k, v in (deployment["metadata"].get("annotations") or {}).items()
        if k.startswith("tentacular.io/")
    }
    if not detail:
        return status
    pod_spec = deployment["spec"]["template"]["spec"]
    container = (pod_spec.get("containers") or [{}])[0]
    service = client.get(SERVICE, name, namespace)
    pods = client.list(POD, namespace, labels={NAME_LABEL: name})
    events = client.list(EVENT, namespace, fields={"involvedObject.name": name})
    ports = ((service or {}).get("spec") or {}).get("ports") or [{}]
    status.update(
        runtimeClass=pod_spec.get("runtimeClassName"),
        resourceLimits=(container.get("resources") or {}).get("limits") or {},
        serviceEndpoint=(
            f"{service['spec'].get('clusterIP')}:{ports[0].get('port')}" if service is not None else None
        ),
        pods=[_pod_view(pod) for pod in pods],
        events=[_event_view(event) for event in events],
    )
    return status


def _pod_view(pod: dict[str, Any]) -> dict[str, Any]:
    status = pod.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    return {
        "name": pod["metadata"]["name"],
        "phase": status.get("phase"),
        "ready": ready,
        "ip": status.get("podIP"),
    }


def _event_view(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": event.get("lastTimestamp")
        or event.get("eventTime")
        or event["metadata"].get("creationTimestamp"),
        "reason": event.get("reason"),
        "message": event.get("message"),
    }


def pick_pod(client: KubeClient, name: str, namespace: str) -> str:
    """The first Running pod of the workflow, else the first pod at all."""
    pods = client.list(POD, namespace, labels={NAME_LABEL: name})
    if not pods:
        raise ClusterNotFoundError(
            f"no pods found for workflow {name} in namespace {namespace}",
            hint=f"check it is deployed: tntc status {name} -n {namespace}",
        )
    running = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]
    return str((running or pods)[0]["metadata"]["name"])
