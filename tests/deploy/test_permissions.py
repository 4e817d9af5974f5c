"""The permission table: the docs show exactly the data the preflight checks (issue 13, Build 3)."""

from __future__ import annotations

import re
from pathlib import Path

from tentacular.deploy._kube import permissions as table
from tentacular.deploy._kube.checks import plan_for
from tentacular.deploy._manifests import ManifestOptions, build_manifests
from tentacular.spec import LoadedWorkflow
from tests.deploy.conftest import example

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
EDIT_ROLE_RESOURCES = {
    # What the built-in `edit` ClusterRole grants in a namespace (aggregated from admin/edit/view).
    "configmaps", "services", "secrets", "pods", "pods/log", "pods/proxy", "events", "serviceaccounts",
    "namespaces", "deployments", "cronjobs", "networkpolicies", "ingresses",
}  # fmt: skip


def test_docs_table_is_the_data() -> None:
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"<!-- permissions:begin -->\n(.*?)<!-- permissions:end -->", text, re.S)
    assert match is not None, "docs/operations.md lost its permission table markers"
    assert match.group(1) == table.render_markdown(), (
        "regenerate the table from permissions.render_markdown()"
    )


def test_every_row_names_a_known_condition_and_a_real_verb() -> None:
    verbs = {"get", "list", "watch", "create", "patch", "delete"}
    for command, rows in table.PERMISSIONS.items():
        for row in rows:
            assert row.when in table.CONDITIONS, (command, row)
            assert row.verb in verbs, (command, row)


def test_namespaced_workflows_need_only_what_edit_grants_in_the_namespace() -> None:
    """Everything but cluster RBAC, optional reads and -A is namespaced and within `edit`."""
    for command in ("deploy", "undeploy", "status", "list", "logs", "run", "audit", "versions", "rollback"):
        for row in table.PERMISSIONS[command]:
            if (
                row.when == table.CLUSTER_RBAC
                or not row.required
                or row.group
                in (
                    "gateway.networking.k8s.io",
                    "monitoring.coreos.com",
                )
            ):
                continue
            assert row.scope == "namespace", (command, row)
            assert row.resource in EDIT_ROLE_RESOURCES, (command, row)


def test_plan_follows_the_rendered_objects(full_workflow: LoadedWorkflow) -> None:
    word_counter, full = example("word-counter"), full_workflow
    plain = plan_for(
        "team", "gvisor", workflow="word-counter", objects=build_manifests(word_counter, ManifestOptions())
    )
    assert table.CLUSTER_RBAC not in plain.conditions and "CronJob" not in plain.conditions
    rows = table.applicable(table.DEPLOY, plain.conditions)
    assert all(r.scope == "namespace" for r in rows if r.required)
    rbac = plan_for("team", None, workflow="kitchen-sink", objects=build_manifests(full, ManifestOptions()))
    assert {table.CLUSTER_RBAC, "CronJob", "NetworkPolicy"} <= rbac.conditions
    cluster = [
        r for r in table.applicable(table.DEPLOY, rbac.conditions) if r.scope == "cluster" and r.required
    ]
    assert {r.resource for r in cluster} == {"clusterroles", "clusterrolebindings"}
    assert rbac.runtime_class is None


def test_rows_describe_their_scope_without_placeholders() -> None:
    for rows in table.PERMISSIONS.values():
        for row in rows:
            text = row.describe("team") + row.describe(None)
            assert "<" not in text and ">" not in text
    row = table.Permission("list", "rbac.authorization.k8s.io", "clusterrolebindings", "cluster")
    assert row.describe("team") == "list clusterrolebindings.rbac.authorization.k8s.io at the cluster scope"
