"""Labels and annotations shared by every generated object (D6, INVENTORY §7.3, F-328).

One label domain, ``tentacular.io/``. Nothing here depends on the clock or the
machine, so rendering twice gives identical objects and an unchanged redeploy is a
no-op under server-side apply.
"""

from __future__ import annotations

from collections.abc import Mapping

from tentacular.spec._derive import TRIGGER_ROLE, TRIGGER_ROLE_LABEL
from tentacular.spec._model import Workflow

NAME_LABEL = "app.kubernetes.io/name"
VERSION_LABEL = "app.kubernetes.io/version"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "tentacular"
COMPONENT_LABEL = "app.kubernetes.io/component"

DOMAIN = "tentacular.io"
WORKFLOW_LABEL = f"{DOMAIN}/workflow"
NAMESPACE_LABEL = f"{DOMAIN}/namespace"
ROLE_LABEL = TRIGGER_ROLE_LABEL
ROLE_TRIGGER = TRIGGER_ROLE

CODE_HASH_ANNOTATION = f"{DOMAIN}/code-hash"
CODE_HASH_LABEL = f"{DOMAIN}/code-hash"  # the short hash; label values cannot hold "sha256:"
WORKFLOW_NAME_ANNOTATION = f"{DOMAIN}/workflow-name"
WORKFLOW_VERSION_ANNOTATION = f"{DOMAIN}/workflow-version"
SOURCE_PATH_ANNOTATION = f"{DOMAIN}/source-path"
GIT_SHA_ANNOTATION = f"{DOMAIN}/git-sha"
DEPLOYED_BY_ANNOTATION = f"{DOMAIN}/deployed-by"
DEPLOYED_AT_ANNOTATION = f"{DOMAIN}/deployed-at"
RELEASE_ANNOTATION = f"{DOMAIN}/release"
OBJECT_HASH_ANNOTATION = f"{DOMAIN}/object-hash"
APPLIED_ANNOTATION = f"{DOMAIN}/applied"  # on a code ConfigMap: what its version applied
INTENDED_HOSTS_ANNOTATION = f"{DOMAIN}/intended-hosts"
#: On every namespaced object of a workflow that declares cluster RBAC: later deploys and
#: undeploy read it (by name) instead of listing cluster scope to find the ClusterRole/Binding.
CLUSTER_RBAC_ANNOTATION = f"{DOMAIN}/cluster-rbac"
#: On the Deployment: the kinds its version rendered, so the next apply reads only those kinds
#: (and what they left behind) instead of every kind a workflow can own.
KINDS_ANNOTATION = f"{DOMAIN}/kinds"


def selector_labels(workflow: Workflow) -> dict[str, str]:
    """What the Deployment, Service and NetworkPolicy select on; immutable once deployed."""
    return {NAME_LABEL: workflow.name}


def standard_labels(workflow: Workflow) -> dict[str, str]:
    return {
        NAME_LABEL: workflow.name,
        VERSION_LABEL: workflow.version,
        MANAGED_BY_LABEL: MANAGED_BY,
    }


def cluster_scoped_labels(workflow: Workflow, namespace: str) -> dict[str, str]:
    """Cluster-scoped objects also say which namespace's workflow they belong to, for pruning."""
    return {**standard_labels(workflow), NAMESPACE_LABEL: namespace}


def trigger_pod_labels(workflow: Workflow) -> dict[str, str]:
    """Trigger pods must not carry the engine's selector label, or the Service would route to them."""
    return {
        ROLE_LABEL: ROLE_TRIGGER,
        WORKFLOW_LABEL: workflow.name,
        COMPONENT_LABEL: "trigger",
        MANAGED_BY_LABEL: MANAGED_BY,
    }


def standard_annotations(
    workflow: Workflow,
    *,
    source_path: str,
    deployed_by: str,
    git_sha: str | None,
    extra: Mapping[str, str],
) -> dict[str, str]:
    annotations = {
        WORKFLOW_NAME_ANNOTATION: workflow.name,
        WORKFLOW_VERSION_ANNOTATION: workflow.version,
        SOURCE_PATH_ANNOTATION: source_path,
        DEPLOYED_BY_ANNOTATION: deployed_by,
    }
    if git_sha:
        annotations[GIT_SHA_ANNOTATION] = git_sha
    annotations.update(extra)
    return annotations


def metadata(
    name: str,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    namespace: str | None,
) -> dict[str, object]:
    meta: dict[str, object] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta
