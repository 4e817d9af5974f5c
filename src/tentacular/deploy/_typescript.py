"""TypeScript workflows in the image: a pinned Deno and the baked dependency cache.

The engine image of a workflow with ``.ts`` nodes carries the Deno binary from the
``deno`` wheel on PyPI, installed hash-checked (``--require-hashes``, one hash per
architecture). When its nodes import ``npm:``/``jsr:``/``https:`` modules, ``tntc build``
first resolves them locally into ``deno.lock`` (hash-locked), and the image build runs
``deno cache --frozen`` against that lock into ``/opt/deno-cache``, which the pod reads
read-only with ``--cached-only``: nothing is downloaded at run time.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tentacular.errors import BuildError
from tentacular.spec import LoadedWorkflow

DENO_VERSION = "2.9.8"
# sha256 of deno-2.9.8-py3-none-manylinux_2_27_{x86_64,aarch64}.whl on PyPI.
DENO_WHEEL_HASHES = (
    "b1d1318e7deda8efd593aefa8b565a827fe71cf83aeff09d3a5ceb047444ca18",
    "3e286918a36f436134336c5c6ef37dfe3a27f16ea22cd6af452ab7daa4ef1da4",
)
DENO_REQUIREMENTS = "deno-requirements.txt"
DENO_HOME = "/opt/deno"
DENO_BINARY = f"{DENO_HOME}/bin/deno"
DENO_CACHE = "/opt/deno-cache"
LOCK_FILE = "deno.lock"
_REMOTE = re.compile(r"""["'](?:npm:|jsr:|https?://)[^"']+["']""")


def has_typescript(loaded: LoadedWorkflow) -> bool:
    return any(spec.runtime == "typescript" for spec in loaded.workflow.nodes.values())


def typescript_sources(loaded: LoadedWorkflow) -> list[Path]:
    nodes = loaded.directory / "nodes"
    return sorted(p for p in nodes.rglob("*.ts") if p.is_file()) if nodes.is_dir() else []


def has_remote_imports(loaded: LoadedWorkflow) -> bool:
    return any(
        _REMOTE.search(p.read_text(encoding="utf-8", errors="replace")) for p in typescript_sources(loaded)
    )


def deno_requirements() -> str:
    hashes = " ".join(f"--hash=sha256:{h}" for h in DENO_WHEEL_HASHES)
    return f"deno=={DENO_VERSION} {hashes}\n"


def lock_dependencies(loaded: LoadedWorkflow, *, timeout: float = 600.0) -> Path:
    """Resolve the nodes' remote imports with the local Deno and write ``deno.lock`` next to them."""
    from tentacular.engine._deno.runtime import IMPORT_MAP, find_deno

    deno = find_deno()
    if deno is None:
        raise BuildError(
            "the TypeScript nodes import npm:/jsr: modules, and no deno binary was found to lock them",
            hint="pip install deno (or set TENTACULAR_DENO), then run tntc build again",
        )
    lock = loaded.directory / LOCK_FILE
    command = [
        deno,
        "cache",
        "--no-config",
        f"--import-map={IMPORT_MAP}",
        f"--lock={lock}",
        *map(str, typescript_sources(loaded)),
    ]
    # From Deno's cache when everything is there already; only then from the registries.
    completed = _run([*command[:2], "--cached-only", *command[2:]], loaded.directory, timeout)
    if completed.returncode != 0:
        completed = _run(command, loaded.directory, timeout)
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip().splitlines()[-5:]
        raise BuildError(
            "resolving the TypeScript nodes' imports failed: " + " / ".join(detail),
            hint="check the npm:/jsr: specifiers; the registry must be reachable at build time",
        )
    return lock


def _run(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(  # a fixed argv, never a shell
            command, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd
        )
    except subprocess.TimeoutExpired:
        raise BuildError(f"deno cache did not finish within {timeout:.0f}s") from None
