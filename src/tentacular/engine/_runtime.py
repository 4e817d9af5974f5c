"""Node runtimes, chosen per node by file extension (D2).

``RUNTIMES`` maps an extension to the runtime that loads such nodes; the executor
only ever sees ``NodeFunction`` callables, so ``.ts`` nodes (run by the Deno worker
of ``engine/_deno``) and ``.py`` nodes mix freely in one DAG. Python nodes are compiled straight from
source (no ``__pycache__`` in a read-only ConfigMap, no stale bytecode on hot
reload) and sibling helper modules in ``nodes/`` import by plain name.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import inspect
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from tentacular.engine._survival import node_threads
from tentacular.errors import NodeLoadError

NodeFunction = Callable[[Any, Any], Awaitable[Any]]
NODE_MODULE_PREFIX = "tentacular_node__"


class NodeRuntime(Protocol):
    """Loads one node file into an awaitable ``run(ctx, input)``."""

    name: str

    def prepare(self, nodes_dir: Path) -> None:
        """Called once before a (re)load of all nodes of a workflow."""

    def load(self, node_id: str, path: Path, nodes_dir: Path) -> NodeFunction: ...


class _SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Compiles from source every time: edits within one second must not hit stale bytecode."""

    def get_code(self, fullname: str) -> Any:
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)

    def set_data(self, path: str, data: Any, *, _mode: int = 0o666) -> None:
        return None  # never write __pycache__ next to node code


class _NodesDirFinder:
    """Resolves top-level imports to files in the active ``nodes/`` directory.

    It sits at the end of ``sys.meta_path`` so the standard library always wins: a node
    file named ``tokenize.py`` must not replace the stdlib module the traceback code uses.
    """

    def __init__(self) -> None:
        self.directory: Path | None = None

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        directory = self.directory
        if directory is None or path is not None or "." in fullname:
            return None
        for candidate, is_package in (
            (directory / fullname / "__init__.py", True),
            (directory / f"{fullname}.py", False),
        ):
            if candidate.is_file():
                loader = _SourceOnlyLoader(fullname, str(candidate))
                locations = [str(candidate.parent)] if is_package else None
                return importlib.util.spec_from_file_location(
                    fullname, candidate, loader=loader, submodule_search_locations=locations
                )
        return None

    def forget_modules(self) -> None:
        """Drop helper modules of the previous load so a reload imports the edited files."""
        directory = self.directory
        if directory is None:
            return
        # The interpreter's own modules cannot be inside the workflow directory (unless it lies in
        # the installation): resolving each of their paths was most of a cold start's cost here.
        skip = () if str(directory).startswith(_INSTALLATION) else _INSTALLATION
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None)
            if not file:
                continue
            if name.startswith(NODE_MODULE_PREFIX) or (
                not file.startswith(skip) and _inside(Path(file), directory)
            ):
                del sys.modules[name]


_FINDER = _NodesDirFinder()
_INSTALLATION = tuple({p.rstrip(os.sep) + os.sep for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})


def _inside(path: Path, directory: Path) -> bool:
    try:
        return path.resolve().is_relative_to(directory)
    except OSError:
        return False


class PythonRuntime:
    """``nodes/<id>.py`` with ``async def run(ctx, input)`` or a plain ``def run`` (run in a thread)."""

    name = "python"

    def prepare(self, nodes_dir: Path) -> None:
        _FINDER.forget_modules()
        _FINDER.directory = nodes_dir
        if _FINDER not in sys.meta_path:
            sys.meta_path.append(_FINDER)
        _FINDER.forget_modules()

    def load(self, node_id: str, path: Path, nodes_dir: Path) -> NodeFunction:
        module_name = NODE_MODULE_PREFIX + node_id.replace("-", "_")
        loader = _SourceOnlyLoader(module_name, str(path))
        spec = importlib.util.spec_from_file_location(module_name, path, loader=loader)
        if spec is None:  # pragma: no cover - only for unsupported file types
            raise NodeLoadError(f'node "{node_id}": cannot load {path}')
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            loader.exec_module(module)
        except SyntaxError as exc:
            del sys.modules[module_name]
            where = f"{_relative(Path(exc.filename or path), nodes_dir)}:{exc.lineno}"
            raise NodeLoadError(
                f'node "{node_id}": syntax error at {where}: {exc.msg}',
                hint="fix the file; with tntc dev the previous version keeps serving meanwhile",
                file=str(path),
                line=exc.lineno,
            ) from None
        except BaseException as exc:
            del sys.modules[module_name]
            file, line = _origin(exc, nodes_dir, path)
            raise NodeLoadError(
                f'node "{node_id}": importing {_relative(file, nodes_dir)} failed at line {line}: '
                f"{type(exc).__name__}: {exc}",
                hint=_import_hint(exc),
                file=str(file),
                line=line,
            ) from None
        return _node_function(node_id, module, path, nodes_dir)


def _node_function(node_id: str, module: ModuleType, path: Path, nodes_dir: Path) -> NodeFunction:
    run = getattr(module, "run", None)
    shown = _relative(path, nodes_dir)
    if run is None:
        raise NodeLoadError(
            f'node "{node_id}": {shown} defines no run function',
            hint="add: async def run(ctx, input): ...",
            file=str(path),
        )
    if not callable(run):
        raise NodeLoadError(
            f'node "{node_id}": run in {shown} is a {type(run).__name__}, not a function',
            hint="define: async def run(ctx, input): ...",
            file=str(path),
        )
    code = getattr(run, "__code__", None)
    if code is not None and not code.co_flags & inspect.CO_VARARGS and code.co_argcount < 2:
        raise NodeLoadError(
            f'node "{node_id}": run in {shown} takes {code.co_argcount} argument(s); '
            "it must accept (ctx, input)",
            file=str(path),
            line=code.co_firstlineno,
        )
    if inspect.iscoroutinefunction(run):
        return run  # type: ignore[no-any-return]
    sync_run = run

    async def in_thread(ctx: Any, value: Any) -> Any:
        # A plain def must not block the loop; if it times out the thread cannot be stopped,
        # but its result is discarded.
        result = await node_threads().run(sync_run, ctx, value)  # sandbox: bounded, replaced on overrun
        if inspect.isawaitable(result):
            return await result
        return result

    return in_thread


def _origin(exc: BaseException, nodes_dir: Path, fallback: Path) -> tuple[Path, int | None]:
    """The innermost frame of workflow code: where the node author has to look."""
    found: tuple[Path, int | None] = (fallback, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        frame_path = Path(frame.filename)
        if _inside(frame_path, nodes_dir):
            found = (frame_path, frame.lineno)
    return found


def _import_hint(exc: BaseException) -> str | None:
    if isinstance(exc, ModuleNotFoundError):
        return (
            f'module "{exc.name}" is not installed: declare it under runtime.python.requirements, '
            "or put a helper module next to the nodes"
        )
    return None


def _relative(path: Path, nodes_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(nodes_dir.parent))
    except ValueError:
        return str(path)


class _DenoRuntimeOnDemand:
    """The Deno runtime, imported only when a workflow has TypeScript nodes (start-up budget)."""

    name = "deno"

    def __init__(self) -> None:
        self._runtime: NodeRuntime | None = None

    def _real(self) -> NodeRuntime:
        if self._runtime is None:
            from tentacular.engine._deno.runtime import DenoRuntime

            self._runtime = DenoRuntime()
        return self._runtime

    def prepare(self, nodes_dir: Path) -> None:
        self._real().prepare(nodes_dir)

    def load(self, node_id: str, path: Path, nodes_dir: Path) -> NodeFunction:
        return self._real().load(node_id, path, nodes_dir)


RUNTIMES: dict[str, NodeRuntime] = {
    ".py": PythonRuntime(),
    ".ts": _DenoRuntimeOnDemand(),
}


def register_runtime(extension: str, runtime: NodeRuntime) -> None:
    RUNTIMES[extension] = runtime


def runtime_for(path: Path) -> NodeRuntime:
    runtime = RUNTIMES.get(path.suffix)
    if runtime is None:
        raise NodeLoadError(
            f"no node runtime for {path.name} (known: {', '.join(sorted(RUNTIMES))})", file=str(path)
        )
    return runtime


def resolve_node_path(workflow_dir: Path, node_id: str, declared: str) -> Path:
    """The node file, refusing anything that resolves outside ``nodes/`` (F-048, Q17)."""
    nodes_dir = (workflow_dir / "nodes").resolve()
    candidate = (workflow_dir / declared).resolve()
    if not candidate.is_relative_to(nodes_dir):
        raise NodeLoadError(
            f'Node path "{declared}" of node "{node_id}" resolves outside the nodes/ directory '
            "of the workflow",
            hint="keep node code under nodes/ (symlinks must point inside it too)",
        )
    if not candidate.is_file():
        raise NodeLoadError(f'node "{node_id}": {declared} does not exist', file=str(candidate))
    return candidate


def load_nodes(workflow_dir: Path, node_paths: Mapping[str, str]) -> dict[str, NodeFunction]:
    """Load every node; the first failure raises (the caller keeps its previous nodes)."""
    nodes_dir = (workflow_dir / "nodes").resolve()
    resolved = {
        node: resolve_node_path(workflow_dir, node, declared) for node, declared in node_paths.items()
    }
    runtimes = {node: runtime_for(path) for node, path in resolved.items()}
    for runtime in {id(r): r for r in runtimes.values()}.values():
        runtime.prepare(nodes_dir)
    return {node: runtimes[node].load(node, path, nodes_dir) for node, path in resolved.items()}
