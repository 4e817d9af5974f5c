"""The cold-start stage benchmark's scripts keep running as the modules they name move (no timing)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

from benchmarks import bench_startup
from benchmarks._deployed import deployed_copy

ROOT = Path(__file__).resolve().parents[2]


def test_every_stage_runs_and_each_adds_to_the_one_before() -> None:
    scripts = [bench_startup._script(stage) for stage in range(len(bench_startup.STAGES))]
    for earlier, later in itertools.pairwise(scripts):
        assert later.startswith(earlier)  # cumulative: row differences are one step's cost
    # The last stage runs every statement of every stage: a booted, guarded trivial3 engine.
    _run(scripts[-1], bench_startup.TRIVIAL3)


def test_the_pod_boot_starts_from_the_compiled_form(tmp_path: Path) -> None:
    deployed = deployed_copy(bench_startup.TRIVIAL3, tmp_path)
    script = bench_startup.BOOT.replace("open(os.devnull, 'w')", "sys.stdout")  # to read its banner
    assert "Workflow loaded from its compiled form" in _run(script, deployed)


def _run(script: str, workflow: Path) -> str:
    """Run a benchmark script as the benchmark does (its environment, this tree's source)."""
    env = {**bench_startup._env(), "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-c", script, str(workflow)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_table_shows_each_stage_with_what_it_added(tmp_path: Path) -> None:
    figures = {
        "stages": [
            {"stage": "interpreter", "instructions": 40, "added": 40, "addedMs": 1.0, "sharePct": 40.0},
            {"stage": "spec layer", "instructions": 100, "added": 60, "addedMs": 1.5, "sharePct": 60.0},
        ],
        "boot": {"deployed": 60, "deployedMs": 1.5, "validating": 100, "validatingMs": 2.5, "ratio": 0.6},
        "instructionsPerMs": 40,
        "loadAverage": 0.5,
    }
    bench_startup.write(figures, tmp_path)
    table = (tmp_path / "startup.md").read_text()
    assert "| spec layer | 100 | 60 | 1.5 | 60.0 % |" in table
    assert "| from the compiled form `tntc deploy` ships (a pod) | 60 | 1.5 |" in table
    assert "takes 0.600× the instructions" in table
    assert (tmp_path / "startup.json").exists()
