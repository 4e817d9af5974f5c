"""The deploy preflight (= ``tntc cluster check --dir``) on the real control plane: how many API
requests it sends and how long it takes, as cluster-admin and as a namespace-``edit`` deployer.

The permission table the deploy will use (issue 13, Build 4) is checked with one
SelfSubjectRulesReview for the namespace (an access review only for what it does not grant); it
was one SelfSubjectAccessReview per row before (41 requests as admin or edit). The figure to
watch is the ratio of preflight to the apply it protects.
Requests are counted on the client (an httpx hook on tntc's Kubernetes connection).
"""

from __future__ import annotations

import collections
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RUNS = 7
WORKFLOW = "hn-digest"


@contextmanager
def _counting() -> Iterator[collections.Counter[str]]:
    from tentacular.deploy import _cluster_ops, _operations
    from tentacular.deploy._kube import client as kube_client

    counts: collections.Counter[str] = collections.Counter()
    original = kube_client.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        kube = original(*args, **kwargs)
        http = kube._client._client._client
        http.event_hooks["request"] = [
            *http.event_hooks.get("request", []),
            lambda request: counts.update([request.method]),
        ]
        return kube

    _cluster_ops.connect = connect  # type: ignore[assignment]
    _operations.connect = connect  # type: ignore[assignment]
    try:
        yield counts
    finally:
        _cluster_ops.connect = original
        _operations.connect = original


def _median_ms(action: Callable[[], Any]) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 1)


def _edit_deployer(plane: Any, namespace: str, root: Path) -> Path:
    from tests.cluster.kube import service_account_token

    with plane.client() as api:
        api.post(
            f"/api/v1/namespaces/{namespace}/serviceaccounts",
            json={"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer"}},
        ).raise_for_status()
        api.post(
            f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings",
            json={
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "deployer-edit"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": namespace}],
            },
        ).raise_for_status()
    token = service_account_token(plane, namespace, "deployer")
    return Path(plane.kubeconfig(root / "edit.kubeconfig", token=token, user="deployer"))


def _measure(directory: Path, namespace: str) -> dict[str, Any]:
    from tentacular import deploy

    target = deploy.TargetOptions(namespace=namespace)
    with _counting() as check:
        report = deploy.cluster_check(target=target, directory=directory)
    assert report.passed, report.to_dict()
    check_ms = _median_ms(lambda: deploy.cluster_check(target=target, directory=directory))
    options = deploy.DeployOptions(namespace=namespace, force=True, wait=False)
    with _counting() as first:
        assert deploy.deploy(directory, options).ok
    with _counting() as again:
        assert deploy.deploy(directory, options).ok
    deploy.undeploy(WORKFLOW, target=target)
    return {
        "preflightRequests": sum(check.values()),
        "preflightMedianMs": check_ms,
        "firstDeployRequests": sum(first.values()),
        "unchangedDeployRequests": sum(again.values()),
    }


def main(results_dir: Path) -> None:
    import shutil

    from tests.cluster.control_plane import kube_binaries, start_control_plane
    from tests.cluster.kube import create_namespace
    from tests.conftest import EXAMPLES

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        os.environ["TENTACULAR_HOME"] = str(root / "home")
        directory = root / WORKFLOW
        shutil.copytree(EXAMPLES / WORKFLOW, directory)
        plane = start_control_plane(kube_binaries())
        try:
            figures: dict[str, Any] = {"workflow": WORKFLOW, "runs": RUNS}
            for who in ("admin", "edit"):
                namespace = f"bench-{who}"
                create_namespace(plane, namespace)
                kubeconfig = (
                    plane.kubeconfig(root / "admin.kubeconfig")
                    if who == "admin"
                    else _edit_deployer(plane, namespace, root)
                )
                os.environ["KUBECONFIG"] = str(kubeconfig)
                figures[who] = _measure(directory, namespace)
        finally:
            plane.stop()
    figures["loadAverage"] = os.getloadavg()[0]
    (results_dir / "preflight.json").write_text(json.dumps(figures, indent=2) + "\n")
    lines = [
        f"Deploy preflight (= cluster check) of {WORKFLOW} on the real control plane, median of {RUNS}; "
        f"load {figures['loadAverage']:.2f}",
        "",
        "| deployer | preflight requests | preflight | first deploy requests (no wait) "
        "| unchanged redeploy requests |",
        "|---|---|---|---|---|",
    ]
    for who in ("admin", "edit"):
        f = figures[who]
        lines.append(
            f"| {who} | {f['preflightRequests']} | {f['preflightMedianMs']} ms "
            f"| {f['firstDeployRequests']} | {f['unchangedDeployRequests']} |"
        )
    (results_dir / "preflight.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
