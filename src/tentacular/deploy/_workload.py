"""Deployment and Service of the engine (INVENTORY §7.5, §7.6 with D6).

Pods meet the Pod Security Standards *restricted* profile at pod and container level
(layer 4): non-root uid 65534, seccomp RuntimeDefault, no privilege escalation, all
capabilities dropped, read-only root filesystem, only configMap/secret/emptyDir
volumes, no service-account token unless the workflow declares RBAC, no env vars.
"""

from __future__ import annotations

from typing import Any

from tentacular.deploy._dockerfile import ENGINE_COMMAND, ENGINE_PORT, RUN_AS_USER, SECRETS_DIR, WORKFLOW_DIR

ENGINE_CONTAINER = "engine"
DEFAULT_SERVICE_ACCOUNT = "default"
TMP_SIZE_LIMIT = "512Mi"
ENGINE_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "64Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}
HEALTH_PATH = "/health"
SECRET_FILE_MODE = 0o440  # group-readable through fsGroup, never world-readable
CODE_FILE_MODE = 0o444


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "fsGroup": RUN_AS_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def hardened_pod_spec(
    *,
    containers: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
    runtime_class: str | None,
    service_account: str | None,
    mount_token: bool,
    restart_policy: str,
) -> dict[str, Any]:
    # Always explicit, so tntc owns the field: another manager switching the pods to a more
    # privileged account is a conflict the next deploy takes back, and drift audit reports.
    spec: dict[str, Any] = {"serviceAccountName": service_account or DEFAULT_SERVICE_ACCOUNT}
    spec["automountServiceAccountToken"] = mount_token
    # Service links would put other services' addresses into every container's environment.
    spec["enableServiceLinks"] = False
    if runtime_class:
        spec["runtimeClassName"] = runtime_class
    spec["restartPolicy"] = restart_policy
    spec["securityContext"] = pod_security_context()
    spec["containers"] = containers
    if volumes:
        spec["volumes"] = volumes
    return spec


def _probe(initial_delay: int, period: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": HEALTH_PATH, "port": ENGINE_PORT, "scheme": "HTTP"},
        "initialDelaySeconds": initial_delay,
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
    }


def deployment(
    *,
    name: str,
    meta: dict[str, object],
    selector: dict[str, str],
    pod_labels: dict[str, str],
    pod_annotations: dict[str, str],
    image: str,
    image_pull_policy: str,
    runtime_class: str | None,
    service_account: str | None,
    mount_token: bool,
    code_configmap: str,
    code_items: list[dict[str, str]],
    secret_name: str,
) -> dict[str, Any]:
    container = {
        "name": ENGINE_CONTAINER,
        "image": image,
        "imagePullPolicy": image_pull_policy,
        "command": list(ENGINE_COMMAND),
        "ports": [{"name": "http", "containerPort": ENGINE_PORT, "protocol": "TCP"}],
        "livenessProbe": _probe(5, 10),
        "readinessProbe": _probe(3, 5),
        "resources": {kind: dict(values) for kind, values in ENGINE_RESOURCES.items()},
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "code", "mountPath": WORKFLOW_DIR, "readOnly": True},
            {"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    volumes = [
        {
            "name": "code",
            "configMap": {"name": code_configmap, "items": code_items, "defaultMode": CODE_FILE_MODE},
        },
        # optional: a workflow without secrets starts with an empty ctx.secrets (§7.7)
        {
            "name": "secrets",
            "secret": {"secretName": secret_name, "optional": True, "defaultMode": SECRET_FILE_MODE},
        },
        {"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}},
    ]
    pod_spec = hardened_pod_spec(
        containers=[container],
        volumes=volumes,
        runtime_class=runtime_class,
        service_account=service_account,
        mount_token=mount_token,
        restart_policy="Always",
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 3,
            # One replica at a time: a code change never runs old and new nodes side by side.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": dict(selector)},
            "template": {
                "metadata": {"labels": dict(pod_labels), "annotations": dict(pod_annotations)},
                "spec": pod_spec,
            },
        },
    }


def service(*, meta: dict[str, object], selector: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "ClusterIP",
            "selector": dict(selector),
            "ports": [{"name": "http", "port": ENGINE_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }
