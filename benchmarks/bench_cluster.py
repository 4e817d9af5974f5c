"""The real-cluster test harness: what it costs to have a Kubernetes control plane in the suite.

Figures: the cached `tools/kube/build.sh` (what every `make test` pays once the build exists),
control-plane start (etcd, kube-apiserver, controller-manager, scheduler, kwok, one Ready node),
and, on that cluster, a deploy to Ready, a changed redeploy (a Recreate rollout through the real
controllers and kwok) and an undeploy of word-counter. The first build is not repeated here (about
10 minutes on 2 cores); the closing note of issue 13 records it.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
STARTS = 3
LIFECYCLES = 3


def _cached_build_seconds() -> float:
    started = time.perf_counter()
    subprocess.run(["bash", str(REPO / "tools" / "kube" / "build.sh")], check=True, capture_output=True)
    return time.perf_counter() - started


def _lifecycle(plane: Any, scratch: Path) -> dict[str, float]:
    """deploy → changed redeploy → undeploy through the CLI, each to completion (Ready / gone)."""
    from tests.cluster.kube import RealClock, create_namespace, delete_namespace

    from tentacular.cli.main import main
    from tentacular.deploy._kube.waiting import use_clock

    namespace = f"bench-{os.urandom(3).hex()}"
    create_namespace(plane, namespace)
    directory = scratch / namespace
    shutil.copytree(REPO / "example-workflows" / "word-counter", directory)
    os.environ["KUBECONFIG"] = str(plane.kubeconfig(scratch / f"{namespace}.kubeconfig"))
    times: dict[str, float] = {}
    node = directory / "nodes" / "tokenize.py"
    steps = {
        "deploy": lambda: main(["deploy", str(directory), "--force", "-n", namespace, "-o", "json"]),
        "changed redeploy": lambda: (
            node.write_text(node.read_text() + "\n# v2\n"),
            main(["deploy", str(directory), "--force", "-n", namespace, "-o", "json"]),
        )[1],
        "undeploy": lambda: main(["undeploy", "word-counter", "--yes", "-n", namespace, "-o", "json"]),
    }
    try:
        with use_clock(RealClock()):
            for name, step in steps.items():
                started = time.perf_counter()
                assert step() == 0, name
                times[name] = time.perf_counter() - started
    finally:
        delete_namespace(plane, namespace)
    return times


def main(results_dir: Path) -> None:
    import contextlib
    import io

    from tests.cluster.control_plane import kube_binaries, start_control_plane

    cached = _cached_build_seconds()
    bin_dir = kube_binaries()
    starts, runs = [], []
    for _ in range(STARTS):
        plane = start_control_plane(bin_dir)
        starts.append(plane.started_in)
        try:
            if not runs:
                quiet = io.StringIO()
                with (
                    tempfile.TemporaryDirectory() as scratch,
                    contextlib.redirect_stdout(quiet),
                    contextlib.redirect_stderr(quiet),
                ):
                    runs = [_lifecycle(plane, Path(scratch)) for _ in range(LIFECYCLES)]
        finally:
            plane.stop()
            shutil.rmtree(plane.workdir, ignore_errors=True)
    figures = {
        "load_average_1m": os.getloadavg()[0],
        "cached_build_s": round(cached, 3),
        "start_s": {"median": round(statistics.median(starts), 2), "all": [round(s, 2) for s in starts]},
        "lifecycle_s": {step: round(statistics.median(run[step] for run in runs), 2) for step in runs[0]},
    }
    (results_dir / "cluster.json").write_text(json.dumps(figures, indent=2) + "\n")
    rows = [
        "| figure | seconds |",
        "|---|---|",
        f"| cached `tools/kube/build.sh` | {figures['cached_build_s']} |",
        f"| control plane start (median of {STARTS}) | {figures['start_s']['median']} |",
        *(
            f"| word-counter {step} (median of {LIFECYCLES}) | {s} |"
            for step, s in figures["lifecycle_s"].items()
        ),
    ]
    note = f"\nLoad average (1 min) at the end: {figures['load_average_1m']:.1f} on 2 cores.\n"
    (results_dir / "cluster.md").write_text("# Real-cluster harness\n\n" + "\n".join(rows) + "\n" + note)
