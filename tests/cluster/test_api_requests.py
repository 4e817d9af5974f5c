"""How many requests one apply sends, as the real API server audited them (issue 15: one request
per object plus the rollout watch). A deployer bound to ``edit`` in one namespace, so the figure
is also the least RBAC: no cluster-scoped call, no access review per permission row."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.cluster.kube import EditDeployer, Kube, Write
from tests.cluster.test_lifecycle import copy_example, tntc

# The preflight of an edit deployer: /version, its namespace, the RuntimeClass (not readable:
# edit cannot read cluster scope, so a dry-run pod asks the admission plugin instead), the
# Deployment being replaced (read once; the apply reuses it), and one SelfSubjectRulesReview
# answering every namespaced row of the permission table.
PREFLIGHT = Counter(
    {
        ("get", ""): 1,
        ("get", "namespaces"): 1,
        ("get", "runtimeclasses"): 1,
        ("create", "pods"): 1,
        ("get", "deployments"): 1,
        ("create", "selfsubjectrulesreviews"): 1,
    }
)


def _by_request(requests: list[Write]) -> Counter[tuple[str, str]]:
    return Counter((r.verb, r.resource) for r in requests)


def _kinds(manifests: list[dict[str, str]]) -> list[str]:
    return [m["object"].split("/")[0] for m in manifests if m["action"] != "pruned"]


PLURALS = {
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "Service": "services",
    "Deployment": "deployments",
    "CronJob": "cronjobs",
    "NetworkPolicy": "networkpolicies",
}


DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("command", ["deploy", "release apply"])
def test_one_apply_sends_one_request_per_object_plus_the_rollout_watch(
    command: str, edit_deployer: EditDeployer, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tntc deploy`` and ``tntc release apply`` share the apply, and so its request count."""
    edit_deployer()
    directory = copy_example("hn-digest", tmp_path)
    argv: tuple[str, ...] = ("deploy", str(directory), "--force")
    if command == "release apply":
        unit = tmp_path / "hn-digest.tntc"
        bundled = tntc(capsys, "release", "bundle", str(directory), "--digest", DIGEST, "--out", str(unit))
        assert bundled[0] == 0, bundled[1]
        argv = ("release", "apply", str(unit))
    kube.clear_writes()
    code, doc, _ = tntc(capsys, *argv)
    assert code == 0, doc
    kinds = _kinds(doc["manifests"])
    assert {"Deployment", "NetworkPolicy", "CronJob"} <= set(kinds) and len(kinds) >= 5, kinds
    first = _by_request(kube.requests())
    # First install: one apply (PATCH) per object, one list of NetworkPolicies (the one kind an
    # interrupted earlier apply can leave without a Deployment), one watch on the rollout.
    apply = Counter(("patch", PLURALS[k]) for k in kinds)
    assert first == PREFLIGHT + apply + Counter({("list", "networkpolicies"): 1, ("watch", "deployments"): 1})
    assert sum(first.values()) == len(kinds) + 2 + sum(PREFLIGHT.values())
    assert first[("create", "selfsubjectaccessreviews")] == 0

    # Unchanged: nothing is written and nothing waited for; one list per kind it renders.
    kube.clear_writes()
    code, doc, _ = tntc(capsys, *argv)
    assert code == 0, doc
    assert {m["action"] for m in doc["manifests"]} == {"unchanged"}
    again = _by_request(kube.requests())
    lists = Counter(("list", PLURALS[k]) for k in dict.fromkeys(kinds) if k != "Deployment")
    assert again == PREFLIGHT + lists
    assert kube.writes() == []
