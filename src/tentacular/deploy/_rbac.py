"""ServiceAccount, ClusterRole and ClusterRoleBinding for ``deployment.rbac`` (INVENTORY §2.7, roadmap #12).

Only created when the workflow declares rules; only then does the pod mount a token.
ClusterRole names include the namespace, because the same workflow may run in several.
"""

from __future__ import annotations

from typing import Any

from tentacular.spec._model import RbacSpec


def cluster_role_name(namespace: str, workflow_name: str) -> str:
    return f"tentacular:{namespace}:{workflow_name}"


def service_account(*, meta: dict[str, object]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}


def cluster_role(*, meta: dict[str, object], rbac: RbacSpec) -> dict[str, Any]:
    rules = []
    for rule in rbac.cluster_role.rules:
        rendered: dict[str, Any] = {
            "apiGroups": list(rule.api_groups),
            "resources": list(rule.resources),
            "verbs": list(rule.verbs),
        }
        if rule.resource_names:
            rendered["resourceNames"] = list(rule.resource_names)
        rules.append(rendered)
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": meta,
        "rules": rules,
    }


def cluster_role_binding(
    *, meta: dict[str, object], role: str, account: str, namespace: str
) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
    }
