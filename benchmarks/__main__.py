"""Run every benchmark module and print where the results were written.

Each ``benchmarks/bench_<name>.py`` exposes ``main(results_dir: Path) -> None`` and
writes ``<name>.json`` (machine-readable figures) and ``<name>.md`` (a table) there.
Pass module names to run a subset: ``python -m benchmarks cli engine``.
"""

from __future__ import annotations

import compileall
import importlib
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def main(argv: list[str]) -> int:
    RESULTS.mkdir(exist_ok=True)
    # Measure what an installed wheel does: pip writes bytecode at install time, while this
    # editable checkout may run with PYTHONDONTWRITEBYTECODE=1 and recompile on every start.
    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "src"), quiet=1)
    names = argv or sorted(p.stem[len("bench_") :] for p in Path(__file__).parent.glob("bench_*.py"))
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        module.main(RESULTS)
        print(f"   done in {time.perf_counter() - started:.1f}s", flush=True)
    print(f"results: {RESULTS}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
