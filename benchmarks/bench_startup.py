"""Where the engine's cold start goes, in instructions (issue 19, Build 1): cumulative import stages.

Each stage is one fresh interpreter (``valgrind --tool=callgrind``, bytecode cached as in an
image, fixed hash seed) that does everything the stage before it did and one step more, so the
difference between two rows is what that step costs. The last row is a booted trivial3 engine
(guard on, as ``bench_layers`` counts a cold start). Instructions convert to milliseconds at this
machine's native rate, measured on the same run (the booted stage timed without valgrind); only
the ratios between rows are meant to be compared across runs.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks._callgrind import count_instructions, instructions_per_ms
from benchmarks._deployed import deployed_copy

TRIVIAL3 = Path(__file__).resolve().parent / "workflows" / "trivial3"

_BOOT = (
    "from tentacular.engine._guard import guard_for\nfrom tentacular.engine._logs import LogSink\n"
    "log = LogSink(stream=open(os.devnull, 'w'))\n"
    "tentacular.engine._startup.boot(sys.argv[1], log=log, cluster_secrets=None,"
    " install_guard=guard_for(enabled=True, log=log){deployed})"
)

# (label, the statements this stage adds to the previous ones)
STAGES: tuple[tuple[str, str], ...] = (
    ("interpreter (site, no imports)", "pass"),
    ("asyncio, json (the stdlib floor of any asyncio server)", "import asyncio, json"),
    ("pydantic (BaseModel)", "from pydantic import BaseModel"),
    ("PyYAML (C loader)", "import yaml"),
    ("spec models (tentacular.spec._model: classes and validators built)", "import tentacular.spec._model"),
    ("engine start-up import set (engine._startup)", "import tentacular.engine._startup"),
    (
        "workflow loaded and validated (load_workflow)",
        "from tentacular.spec import load_workflow\nload_workflow(sys.argv[1])",
    ),
    ("engine booted, guard on (boot)", _BOOT.format(deployed="")),
)

# One boot, as a pod runs it (the compiled form beside workflow.yaml) and from workflow.yaml alone;
# deployed=True as the engine's server starts: the compiled form when it is there.
BOOT = "import os, sys\nimport tentacular.engine._startup\n" + _BOOT.format(deployed=", deployed=True")


def _script(stage: int) -> str:
    return "\n".join(["import os, sys", *(code for _, code in STAGES[: stage + 1])])


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONHASHSEED"] = "0"
    env["PYDANTIC_DISABLE_PLUGINS"] = "__all__"  # as the engine's entry point sets it (engine/_lean.py)
    return env


def _stage_instructions(stage: int) -> int:
    return count_instructions(_script(stage), [str(TRIVIAL3)], env=_env())


def _boot_instructions(workflow: Path) -> int:
    return count_instructions(BOOT, [str(workflow)], env=_env())


def measure() -> dict[str, Any]:
    with ThreadPoolExecutor(max_workers=2) as pool, tempfile.TemporaryDirectory() as scratch:
        # counts do not depend on the machine's load
        counts = list(pool.map(_stage_instructions, range(len(STAGES))))
        boots = list(pool.map(_boot_instructions, [deployed_copy(TRIVIAL3, Path(scratch)), TRIVIAL3]))
    booted = _script(len(STAGES) - 1)
    rate = instructions_per_ms(booted, [str(TRIVIAL3)], env=_env(), instructions=counts[-1])
    rows = []
    previous = 0
    for (label, _), count in zip(STAGES, counts, strict=True):
        rows.append(
            {
                "stage": label,
                "instructions": count,
                "added": count - previous,
                "addedMs": round((count - previous) / rate, 1),
                "sharePct": round((count - previous) / counts[-1] * 100, 1),
            }
        )
        previous = count
    deployed, validating = boots
    boot = {
        "deployed": deployed,
        "deployedMs": round(deployed / rate, 1),
        "validating": validating,
        "validatingMs": round(validating / rate, 1),
        "ratio": round(deployed / validating, 3),
    }
    return {"stages": rows, "boot": boot, "instructionsPerMs": round(rate), "loadAverage": os.getloadavg()[0]}


def write(figures: dict[str, Any], results_dir: Path) -> None:
    (results_dir / "startup.json").write_text(json.dumps(figures, indent=2) + "\n")
    lines = [
        "# Where the cold start goes (callgrind; cumulative stages, bytecode cached)",
        "",
        f"Converted at {figures['instructionsPerMs']:,} instructions/ms (this run's native rate; "
        f"load average {figures['loadAverage']:.2f}).",
        "",
        "| stage | instructions | added by this stage | ≈ ms | share |",
        "|---|---|---|---|---|",
    ]
    for row in figures["stages"]:
        lines.append(
            f"| {row['stage']} | {row['instructions']:,} | {row['added']:,} | {row['addedMs']} | "
            f"{row['sharePct']} % |"
        )
    boot = figures.get("boot")
    if boot:
        lines += [
            "",
            "A pod's start (the same boot, stages not split):",
            "",
            "| boot of trivial3, guard on | instructions | ≈ ms |",
            "|---|---|---|",
            f"| from the compiled form `tntc deploy` ships (a pod) | {boot['deployed']:,} "
            f"| {boot['deployedMs']} |",
            f"| from workflow.yaml alone (validated at start) | {boot['validating']:,} "
            f"| {boot['validatingMs']} |",
            "",
            f"The compiled form's start takes {boot['ratio']:.3f}× the instructions of a validating one.",
        ]
    (results_dir / "startup.md").write_text("\n".join(lines) + "\n")


def main(results_dir: Path) -> None:
    if shutil.which("valgrind") is None:
        note = "# Where the cold start goes\n\nvalgrind not installed: not measured.\n"
        (results_dir / "startup.md").write_text(note)
        return
    write(measure(), results_dir)
