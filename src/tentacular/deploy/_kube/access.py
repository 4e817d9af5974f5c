"""Whether this user may do what a permission-table row says: one SelfSubjectRulesReview per
namespace, a SelfSubjectAccessReview only for what the rules do not answer (issue 13, Build 4;
issue 15: the preflight of one apply went from 33 access reviews to one rules review)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tentacular.deploy._kube.client import KubeClient
from tentacular.deploy._kube.permissions import Permission
from tentacular.errors import ClusterError


def rules_review(client: KubeClient, namespace: str) -> dict[str, Any]:
    """One SelfSubjectRulesReview: the status (``resourceRules``, ``incomplete``) of what this
    user may do in ``namespace`` — every row of a namespaced permission table in one request."""
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": namespace},
    }
    return dict(client.create(review).get("status") or {})


def can_i(
    client: KubeClient,
    verb: str,
    group: str,
    resource: str,
    namespace: str | None,
    *,
    name: str | None = None,
) -> bool:
    """One SelfSubjectAccessReview; ``namespace=None`` asks about the cluster scope."""
    attributes: dict[str, str] = {"verb": verb, "group": group}
    resource, _, subresource = resource.partition("/")
    attributes["resource"] = resource
    if subresource:
        attributes["subresource"] = subresource
    if namespace is not None:
        attributes["namespace"] = namespace
    if name is not None:
        attributes["name"] = name
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }
    answer = client.create(review)
    return bool((answer.get("status") or {}).get("allowed"))


def _matches(rule: Mapping[str, Any], row: Permission, name: str | None) -> bool:
    """RBAC's own matching (verbs, groups, resources with ``*`` and ``*/sub``, resourceNames)."""
    resource, _, sub = row.resource.partition("/")
    resources = rule.get("resources") or []
    resource_ok = any(
        r in ("*", row.resource) or (sub and r == f"*/{sub}") or (not sub and r == resource)
        for r in resources
    )
    names = rule.get("resourceNames") or []
    return (
        any(v in ("*", row.verb) for v in rule.get("verbs") or [])
        and any(g in ("*", row.group) for g in rule.get("apiGroups") or [])
        and resource_ok
        and (not names or (name is not None and name in names))
    )


@dataclass
class Access:
    """What the user may do: one SelfSubjectRulesReview for the namespace answers every namespaced
    row; a SelfSubjectAccessReview only for cluster-scoped rows and for rows the rules do not grant
    (the rules review may be incomplete, or another authorizer than RBAC may allow it)."""

    client: KubeClient
    namespace: str
    answers: dict[Permission, bool] = field(default_factory=dict)
    _rules: list[Mapping[str, Any]] | None = None
    _reviewed: bool = False

    def rules(self) -> list[Mapping[str, Any]]:
        if not self._reviewed:
            self._reviewed = True
            try:
                self._rules = list(rules_review(self.client, self.namespace).get("resourceRules") or [])
            except ClusterError:  # not served (an old or fake API): every row is asked on its own
                self._rules = []
        return self._rules or []

    def allowed(self, row: Permission) -> bool:
        key = Permission(row.verb, row.group, row.resource, row.scope)
        if key not in self.answers:
            scope = None if row.scope == "cluster" else self.namespace
            name = self.namespace if row.resource == "namespaces" and row.scope == "namespace" else None
            granted = row.scope == "namespace" and any(_matches(r, row, name) for r in self.rules())
            self.answers[key] = granted or can_i(
                self.client, row.verb, row.group, row.resource, scope, name=name
            )
        return self.answers[key]

    def missing(self, rows: Sequence[Permission]) -> list[Permission]:
        return list(dict.fromkeys(row for row in rows if not self.allowed(row)))
