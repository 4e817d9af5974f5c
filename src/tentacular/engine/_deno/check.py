"""``tntc validate`` for TypeScript nodes: each file parses and default-exports a function.

With Deno present, each node is imported by the worker under a deny-everything
profile (read access to ``nodes/`` only, no network, no environment), so the check
is Deno's own parser and module loader. Without Deno, only a textual check is
possible, and the result says so.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tentacular.engine._deno.client import DenoClient
from tentacular.engine._deno.launcher import spawner_launcher
from tentacular.engine._deno.process import WorkerGone
from tentacular.engine._deno.runtime import ASSETS, IMPORT_MAP, WORKER_SCRIPT, find_deno, load_error
from tentacular.errors import TentacularError

_DEFAULT_EXPORT = re.compile(r"^\s*export\s+default\b", re.MULTILINE)


@dataclass(frozen=True)
class NodeProblem:
    node: str
    file: str
    message: str
    hint: str | None = None
    line: int | None = None


@dataclass
class TypeScriptCheck:
    """What was checked, with what, and what is wrong."""

    checked: list[str] = field(default_factory=list)
    problems: list[NodeProblem] = field(default_factory=list)
    deno_version: str | None = None

    @property
    def method(self) -> str:
        if not self.checked:
            return "none"
        if self.deno_version is None:
            return "textual check only (Deno not found: install it with pip install deno for a real parse)"
        return f"parsed and loaded with Deno {self.deno_version}"


def check_typescript_nodes(directory: Path, node_paths: Mapping[str, str]) -> TypeScriptCheck:
    """Check every ``.ts`` node of a workflow; Python nodes are not touched."""
    nodes = {node: directory / path for node, path in node_paths.items() if path.endswith(".ts")}
    result = TypeScriptCheck(checked=sorted(nodes))
    existing = {node: path for node, path in nodes.items() if path.is_file()}
    if not existing:
        return result
    deno = find_deno()
    if deno is None:
        for node, path in existing.items():
            if not _DEFAULT_EXPORT.search(path.read_text(encoding="utf-8", errors="replace")):
                result.problems.append(
                    NodeProblem(
                        node,
                        str(path),
                        f'Node at "{path.relative_to(directory)}" has no default export',
                        hint="add: export default async function run(ctx, input) { ... }",
                    )
                )
        return result
    result.deno_version = _version(deno)
    nodes_dir = (directory / "nodes").resolve()
    lock = directory / "deno.lock"
    argv = [
        deno,
        "run",
        "--no-config",
        # As the worker loads them: against the workflow's lock when it has one. A cache warmed
        # with --frozen holds no registry metadata, so an unlocked load would go to the network.
        *([f"--lock={lock}", "--frozen"] if lock.is_file() else ["--no-lock"]),
        f"--import-map={IMPORT_MAP}",
        "--no-prompt",
        f"--allow-read={nodes_dir},{ASSETS}",
        str(WORKER_SCRIPT),
        str(nodes_dir),
    ]
    client = DenoClient(
        argv,
        env={"NO_COLOR": "1", "DENO_NO_UPDATE_CHECK": "1", "HOME": str(Path.home())},
        cwd=str(directory),
        launcher=spawner_launcher,
        engine_log=lambda _level, _message: None,
        workflow_dir=str(directory),
    )
    try:
        client.start()
        for node, path in existing.items():
            frame = client.load(str(path.resolve()))
            if frame.get("t") == "fail":
                error = load_error(node, path.resolve(), nodes_dir, frame)
                result.problems.append(
                    NodeProblem(node, str(path), error.message, error.hint, error.details.get("line"))
                )
    except WorkerGone as exc:
        raise TentacularError(
            f"checking TypeScript nodes with Deno failed: {exc}",
            hint="top-level code of a node must finish quickly; do the work inside run()",
        ) from None
    except TentacularError as exc:
        raise TentacularError(f"checking TypeScript nodes with Deno failed: {exc.message}") from None
    except Exception as exc:
        raise TentacularError(f"checking TypeScript nodes with Deno failed: {exc}") from None
    finally:
        client.close()
    return result


def _version(deno: str) -> str:
    try:
        completed = subprocess.run(  # a fixed argv, never a shell
            [deno, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "(unknown version)"
    first = completed.stdout.split("\n", 1)[0].split()
    return first[1] if len(first) > 1 else "(unknown version)"
