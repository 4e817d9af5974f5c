"""Release units on a 10-node workflow: bundle time, plan time, and the API requests of one apply.

Target (issue 15): one request per object plus the rollout watch; the apply lists each kind it
renders once, sends only the objects not already as rendered, and watches the rollout once
(tests/cluster/test_api_requests.py asserts the same counts server-side). Requests are counted on the
client (an httpx request hook on the Kubernetes connection), so the figure is what tntc sends,
whatever serves the API. The API here is the cluster tests' API server.
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

import yaml

NODES = 10
RUNS = 5
DIGEST = "sha256:" + "ab" * 32


def _workflow(directory: Path) -> Path:
    (directory / "nodes").mkdir(parents=True)
    nodes = {f"step-{i}": {"path": f"./nodes/step_{i}.py"} for i in range(NODES)}
    for i in range(NODES):
        (directory / "nodes" / f"step_{i}.py").write_text(
            f"async def run(ctx, input):\n    return {{'step': {i}, 'seen': input}}\n"
        )
    spec = {
        "name": "ten-nodes",
        "version": "1.0",
        "triggers": [{"type": "manual"}, {"type": "cron", "schedule": "0 8 * * *"}],
        "nodes": nodes,
        "edges": [{"from": f"step-{i}", "to": f"step-{i + 1}"} for i in range(NODES - 1)],
        "contract": {
            "version": "1",
            "dependencies": {"api": {"protocol": "https", "host": "api.example.com", "port": 443}},
        },
    }
    (directory / "workflow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return directory


@contextmanager
def _counting() -> Iterator[collections.Counter[str]]:
    """Count every HTTP request tntc's Kubernetes connections send, by method and resource."""
    from tentacular.deploy._kube import client as kube_client

    counts: collections.Counter[str] = collections.Counter()
    original = kube_client.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        kube = original(*args, **kwargs)
        http = kube._client._client._client

        def hook(request: Any) -> None:
            counts[f"{request.method} {_resource(request.url.path)}"] += 1

        http.event_hooks["request"] = [*http.event_hooks.get("request", []), hook]
        return kube

    from tentacular.deploy._release import _ops  # the module release apply/plan connect through

    preflight = _ops._preflight

    def counted_preflight(*args: Any, **kwargs: Any) -> Any:
        before = sum(counts.values())
        try:
            return preflight(*args, **kwargs)
        finally:
            counts["(of which preflight)"] += sum(counts.values()) - before

    _ops.connect = connect  # type: ignore[assignment]
    _ops._preflight = counted_preflight  # type: ignore[assignment]
    try:
        yield counts
    finally:
        _ops.connect = original
        _ops._preflight = preflight


def _resource(path: str) -> str:
    """``/apis/apps/v1/namespaces/default/deployments/x`` → ``deployments``."""
    parts = [p for p in path.split("/") if p]
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if len(rest) >= 3 and rest[0] == "namespaces":
        return rest[2]
    return rest[0] if rest else path


def _median_ms(action: Callable[[], Any]) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 1)


class _Server:
    def __init__(self, kind: str, stop: Callable[[], None]) -> None:
        self.kind = kind
        self.stop = stop


def _api_server(home: Path) -> _Server:
    """The cluster tests' real control plane (tests/cluster/control_plane.py; `make kube` builds it)."""
    import shutil

    from tests.cluster.control_plane import kube_binaries, start_control_plane

    plane = start_control_plane(kube_binaries())
    os.environ["KUBECONFIG"] = str(plane.kubeconfig(home / "kubeconfig"))

    def stop() -> None:
        plane.stop()
        shutil.rmtree(plane.workdir, ignore_errors=True)

    return _Server("kube-apiserver 1.36 + kwok", stop)


def _total(counts: collections.Counter[str]) -> int:
    return sum(v for k, v in counts.items() if not k.startswith("("))


def main(results_dir: Path) -> None:
    from tentacular import deploy

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        os.environ["TENTACULAR_HOME"] = str(root / "home")
        directory = _workflow(root / "ten-nodes")
        unit = root / "unit.tntc"
        bundle_options = deploy.BundleOptions(image="127.0.0.1:9/tentacular-engine:1.0", digest=DIGEST)
        bundle_ms = _median_ms(lambda: deploy.release_bundle(directory, unit, bundle_options))
        server = _api_server(root)
        try:
            options = deploy.ReleaseOptions(namespace="default")
            with _counting() as first:
                applied = deploy.release_apply(unit, options)
            objects = len([m for m in applied["manifests"] if m["action"] != "pruned"])
            plan_ms = _median_ms(lambda: deploy.release_plan(unit, options))
            with _counting() as again:
                deploy.release_apply(unit, options)
            node = directory / "nodes" / "step_0.py"
            node.write_text(node.read_text() + "# the second release\n")
            changed_unit = root / "changed.tntc"
            deploy.release_bundle(directory, changed_unit, bundle_options)
            with _counting() as changed:
                deploy.release_apply(changed_unit, options)
        finally:
            server.stop()
    figures = {
        "nodes": NODES,
        "objects": objects,
        "bundleMedianMs": bundle_ms,
        "planMedianMs": plan_ms,
        "firstApplyRequests": _total(first),
        "firstApplyPreflightRequests": first["(of which preflight)"],
        "firstApplyByKind": dict(sorted(first.items())),
        "unchangedApplyRequests": _total(again),
        "unchangedApplyByKind": dict(sorted(again.items())),
        "changedCodeApplyRequests": _total(changed),
        "changedCodeApplyByKind": dict(sorted(changed.items())),
        "targetRequests": f"{objects} (one per object) + rollout watch",
        "apiServer": server.kind,
        "loadAverage": os.getloadavg()[0],
    }
    (results_dir / "releases.json").write_text(json.dumps(figures, indent=2) + "\n")
    lines = [
        f"Release units, {NODES}-node workflow ({objects} objects), median of {RUNS}; "
        f"against the {server.kind}; load {figures['loadAverage']:.2f}",
        "",
        "| figure | value |",
        "|---|---|",
        f"| bundle | {bundle_ms} ms |",
        f"| plan (against the applied release) | {plan_ms} ms |",
        f"| API requests, first apply | {figures['firstApplyRequests']} "
        f"({first['(of which preflight)']} of them preflight) |",
        f"| API requests, unchanged re-apply | {figures['unchangedApplyRequests']} "
        f"({again['(of which preflight)']} of them preflight) |",
        f"| API requests, apply of changed code | {figures['changedCodeApplyRequests']} "
        f"({changed['(of which preflight)']} of them preflight) |",
        f"| target | {figures['targetRequests']} |",
        "",
        "Before (per-object reads, one SelfSubjectAccessReview per permission row, a 2 s poll): first "
        "apply 54 requests (36 preflight), unchanged re-apply 54.",
        "",
        "First apply by request: " + ", ".join(f"{k} ×{v}" for k, v in sorted(first.items())),
        "",
        "Unchanged re-apply by request: " + ", ".join(f"{k} ×{v}" for k, v in sorted(again.items())),
        "",
        "Changed code by request: " + ", ".join(f"{k} ×{v}" for k, v in sorted(changed.items())),
    ]
    (results_dir / "releases.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
