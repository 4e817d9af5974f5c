"""What each command may do to the cluster: verbs on resources at a scope, as data (issue 13, Build 3).

This table is the single source of truth for three things that must agree:

* the deploy preflight and ``tntc cluster check`` check every row that applies
  (``checks.check_permissions``): one SelfSubjectRulesReview answers the namespaced rows, a
  SelfSubjectAccessReview is asked only for a cluster-scoped row or one the rules do not grant;
* the calls the commands really make — a namespaced workflow never touches cluster scope,
  so a deployer bound to the built-in ``edit`` ClusterRole in one namespace can run every
  command (the real-cluster suite proves it);
* the table in docs/operations.md (``render_markdown``; a test keeps them in sync).

A row's ``when`` says which deploys need it (see CONDITIONS); ``required=False`` rows are
ones the command degrades without, saying so (a RuntimeClass it cannot read is "not
verified", ``list -A`` falls back to the namespaces the user can read).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

Scope = Literal["namespace", "cluster"]

ALWAYS = "always"
CLUSTER_RBAC = "cluster-rbac"

#: Condition key -> what it means, for docs and messages. Keys other than ALWAYS and
#: CLUSTER_RBAC name the kind of a rendered object: the row applies when the deploy renders one.
CONDITIONS: dict[str, str] = {
    ALWAYS: "always",
    CLUSTER_RBAC: "the workflow declares `deployment.rbac` now, or did in the version being replaced",
    "NetworkPolicy": "the workflow has a contract (NetworkPolicy)",
    "Secret": "local secrets are provisioned (Secret)",
    "CronJob": "the workflow has cron triggers (CronJob)",
    "Ingress": "a webhook host is exposed through an Ingress",
    "HTTPRoute": "a webhook host is exposed through a Gateway HTTPRoute",
    "ServiceMonitor": "monitoring asks for a Prometheus ServiceMonitor",
    "secret-check": "the contract needs secrets and none are local (the Secret must already exist)",
    "verify": "`--verify`: the workflow is run once after the rollout",
    "all-namespaces": "`-A`: every namespace at once",
    "fix": "`--fix` and the namespace is missing",
    "usage": "`status --detail`, `logs --usage`: token usage read through the pods' API proxy",
}


@dataclass(frozen=True, order=True)
class Permission:
    verb: str
    group: str
    resource: str  # plural, with a subresource as "pods/log"
    scope: Scope = "namespace"
    when: str = ALWAYS
    required: bool = True

    @property
    def qualified(self) -> str:
        """``deployments.apps`` as kubectl and the API's own messages write it."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def describe(self, namespace: str | None = None) -> str:
        where = "at the cluster scope" if self.scope == "cluster" else f"in namespace {namespace}"
        if self.scope == "namespace" and namespace is None:
            where = "in the namespace"
        return f"{self.verb} {self.qualified} {where}"


def _rows(
    verbs: str,
    group: str,
    resources: str,
    *,
    scope: Scope = "namespace",
    when: str = ALWAYS,
    required: bool = True,
) -> tuple[Permission, ...]:
    return tuple(
        Permission(verb, group, resource, scope, when, required)
        for resource in resources.split()
        for verb in verbs.split()
    )


CORE, APPS, BATCH, NETWORKING, RBAC, NODE = (
    "",
    "apps",
    "batch",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "node.k8s.io",
)
GATEWAY, MONITORING = "gateway.networking.k8s.io", "monitoring.coreos.com"

# Server-side apply is a PATCH; creating an object that way also needs ``create``.
_APPLY = "get create patch"

#: Checks shared by every deploy-shaped command (preflight): read the namespace and RuntimeClass,
#: ask one SelfSubjectRulesReview (and SelfSubjectAccessReviews for what it does not answer);
#: every authenticated user may, through system:basic-user.
_PREFLIGHT_READS = (
    *_rows("get", CORE, "namespaces", required=False),
    *_rows("get", NODE, "runtimeclasses", scope="cluster", required=False),
    *_rows(
        "create",
        "authorization.k8s.io",
        "selfsubjectrulesreviews selfsubjectaccessreviews",
        scope="cluster",
        required=False,
    ),
    # Without RuntimeClass reads: a server-side dry-run pod naming it asks the admission plugin.
    *_rows("create", CORE, "pods", required=False),
    # The kernel layers pods will get without gVisor, from each node's kernel (issue 11).
    *_rows("list", CORE, "nodes", scope="cluster", required=False),
)

DEPLOY: tuple[Permission, ...] = (
    *_PREFLIGHT_READS,
    # The live state (stamps, what is already as rendered): one labelled list per kind.
    *_rows(_APPLY + " list", CORE, "configmaps services"),
    *_rows(_APPLY + " list", APPS, "deployments"),
    *_rows(_APPLY, NETWORKING, "networkpolicies", when="NetworkPolicy"),
    *_rows(_APPLY + " list", CORE, "secrets", when="Secret"),
    *_rows("get", CORE, "secrets", when="secret-check"),
    *_rows(_APPLY, BATCH, "cronjobs", when="CronJob"),
    *_rows(_APPLY, NETWORKING, "ingresses", when="Ingress"),
    *_rows(_APPLY + " list delete", GATEWAY, "httproutes", when="HTTPRoute"),
    *_rows(_APPLY, MONITORING, "servicemonitors", when="ServiceMonitor"),
    # Pruning: what the spec no longer renders, found by label in the namespace.
    *_rows("list delete", BATCH, "cronjobs"),
    *_rows("list delete", NETWORKING, "networkpolicies ingresses"),
    # The rollout: one watch on the Deployment; on a timeout, the pods explain why.
    *_rows("watch", APPS, "deployments"),
    *_rows("list", CORE, "pods"),
    # Code versions beyond --keep are deleted after the rollout.
    *_rows("delete", CORE, "configmaps"),
    # Cluster RBAC: only for workflows that declare it (or did); read and deleted by name.
    *_rows(_APPLY + " list delete", CORE, "serviceaccounts", when=CLUSTER_RBAC),
    *_rows(_APPLY + " delete", RBAC, "clusterroles clusterrolebindings", scope="cluster", when=CLUSTER_RBAC),
    *_rows("create get delete", CORE, "pods", when="verify"),
    *_rows("get", CORE, "pods/log", when="verify"),
)

UNDEPLOY: tuple[Permission, ...] = (
    *_rows("list delete", BATCH, "cronjobs"),
    *_rows("list delete", NETWORKING, "ingresses networkpolicies"),
    *_rows("list delete", GATEWAY, "httproutes", when="HTTPRoute"),
    *_rows("list delete", CORE, "services configmaps secrets pods"),
    *_rows("get list delete", APPS, "deployments"),
    *_rows("list delete", CORE, "serviceaccounts", when=CLUSTER_RBAC),
    *_rows("get delete", RBAC, "clusterroles clusterrolebindings", scope="cluster", when=CLUSTER_RBAC),
)

STATUS: tuple[Permission, ...] = (
    *_rows("get", APPS, "deployments"),
    *_rows("get", CORE, "services"),
    *_rows("list", CORE, "pods events"),
    *_rows("get", CORE, "pods/proxy", when="usage"),
)

LIST: tuple[Permission, ...] = (
    *_rows("list", APPS, "deployments"),
    # -A: every namespace at once; without it, the configured namespaces the user can read, one by one.
    *_rows("list", APPS, "deployments", scope="cluster", when="all-namespaces", required=False),
)

LOGS: tuple[Permission, ...] = (
    *_rows("list", CORE, "pods"),
    *_rows("get", CORE, "pods pods/log"),
    *_rows("get", CORE, "pods/proxy", when="usage"),
)

RUN: tuple[Permission, ...] = (
    *_rows("get watch", APPS, "deployments"),
    *_rows("create get delete", CORE, "pods"),
    *_rows("get", CORE, "pods/log"),
)

AUDIT: tuple[Permission, ...] = (
    *_rows("get", APPS, "deployments"),
    *_rows("get", CORE, "configmaps services secrets"),
    *_rows("get", NETWORKING, "networkpolicies ingresses"),
    *_rows("list", BATCH, "cronjobs"),
    *_rows("get", GATEWAY, "httproutes", when="HTTPRoute"),
)

CLUSTER_CHECK: tuple[Permission, ...] = (
    *_PREFLIGHT_READS,
    *_rows("create", CORE, "namespaces", scope="cluster", when="fix"),
)

SECRETS_SYNC: tuple[Permission, ...] = (
    *_rows("get", APPS, "deployments"),
    *_rows(_APPLY, CORE, "secrets"),
    *_rows("patch", APPS, "deployments"),
)

VERSIONS: tuple[Permission, ...] = (
    *_rows("get", APPS, "deployments"),
    *_rows("list", CORE, "configmaps"),
)

#: Rollback and release apply go through the deploy's apply (deploy._revision): the same needs.
ROLLBACK: tuple[Permission, ...] = tuple(row for row in DEPLOY if row.when != "verify")

#: What release plan reads: the live state as the apply reads it (one labelled list per kind).
RELEASE_PLAN: tuple[Permission, ...] = (
    *_rows("get list", APPS, "deployments"),
    *_rows("list", CORE, "configmaps services"),
    *_rows("get", CORE, "secrets"),
    *_rows("list", CORE, "secrets", when="Secret"),
    *_rows("list", BATCH, "cronjobs"),
    *_rows("list", NETWORKING, "networkpolicies ingresses"),
    *_rows("list", GATEWAY, "httproutes", when="HTTPRoute"),
    *_rows("get", RBAC, "clusterroles clusterrolebindings", scope="cluster", when=CLUSTER_RBAC),
    *_rows("list", CORE, "serviceaccounts", when=CLUSTER_RBAC),
)

#: command -> what it needs. ``cluster check`` runs DEPLOY's checks too (and the rest as warnings).
PERMISSIONS: dict[str, tuple[Permission, ...]] = {
    "deploy": DEPLOY,
    "undeploy": UNDEPLOY,
    "status": STATUS,
    "list": LIST,
    "logs": LOGS,
    "run": RUN,
    "audit": AUDIT,
    "cluster check": CLUSTER_CHECK,
    "secrets sync": SECRETS_SYNC,
    "versions": VERSIONS,
    "rollback": ROLLBACK,
    "release plan": RELEASE_PLAN,
    "release apply": ROLLBACK,
}

#: Commands whose needs the preflight also checks (as warnings): after a deploy, these must work.
LIFECYCLE = ("undeploy", "status", "logs", "run", "audit")


def applicable(rows: Iterable[Permission], conditions: Collection[str]) -> list[Permission]:
    """The rows whose condition holds; ALWAYS always does."""
    return [row for row in rows if row.when == ALWAYS or row.when in conditions]


def render_markdown() -> str:
    """The table in docs/operations.md, one line per command, resource and scope."""
    lines = [
        "| Command | Verbs | Resource | Scope | When |",
        "|---|---|---|---|---|",
    ]
    for command, rows in PERMISSIONS.items():
        grouped: dict[tuple[str, Scope, str, bool], list[str]] = {}
        for row in rows:
            grouped.setdefault((row.qualified, row.scope, row.when, row.required), []).append(row.verb)
        for (resource, scope, when, required), verbs in grouped.items():
            condition = CONDITIONS[when] + ("" if required else " (optional: degrades without it)")
            lines.append(f"| `{command}` | {', '.join(verbs)} | `{resource}` | {scope} | {condition} |")
    return "\n".join(lines) + "\n"
