"""``tntc validate`` reads every Python node without running it: what the engine would refuse at start.

Each ``.py`` node is compiled (never executed: no import side effects, no network) so a
syntax error is reported at ``file:line:column``, and its top level is read for the
``run`` the engine calls as ``run(ctx, input)``. A ``run`` the source cannot show (bound
by an import or an assignment) is accepted: only running the module could tell.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tentacular.spec._issues import SpecIssue
from tentacular.spec._model import Workflow

MAX_NODE_BYTES = 1 << 20  # the ConfigMap holding all node code is 1 MiB anyway
_HINT = "define: async def run(ctx, input): ... (or a plain def, run in a thread)"


def check_python_nodes(workflow: Workflow, directory: Path) -> list[SpecIssue]:
    """One error per Python node that would fail to load; nothing for TypeScript nodes."""
    issues: list[SpecIssue] = []
    for node, spec in workflow.nodes.items():
        relative = spec.relative_path
        if relative.endswith(".py"):
            issues.extend(_check_node(node, directory / relative, relative))
    return issues


def _check_node(node: str, path: Path, relative: str) -> Iterator[SpecIssue]:
    where = f"nodes.{node}"
    try:
        if path.stat().st_size > MAX_NODE_BYTES:
            yield SpecIssue(str(path), where, f"{relative} is larger than {MAX_NODE_BYTES} bytes")
            return
        source = path.read_bytes()
    except OSError:
        return  # a missing file is reported by the cross-file rules, with its place in workflow.yaml
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        yield SpecIssue(
            file=str(path),
            path=where,
            message=f"syntax error in {relative}: {exc.msg}",
            hint="fix the node's code; tntc validate compiles it without running it",
            line=exc.lineno,
            column=exc.offset,
        )
        return
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        yield SpecIssue(file=str(path), path=where, message=f"cannot compile {relative}: {exc}")
        return
    run = _top_level_run(tree)
    if run is None:
        yield SpecIssue(
            file=str(path),
            path=where,
            message=f"{relative} defines no run function",
            hint=_HINT,
            line=1,
            column=1,
        )
    elif isinstance(run, ast.FunctionDef | ast.AsyncFunctionDef):
        problem = _signature_problem(run.args)
        if problem is not None:
            yield SpecIssue(
                file=str(path),
                path=where,
                message=f"run in {relative} {problem}; the engine calls run(ctx, input)",
                hint=_HINT,
                line=run.lineno,
                column=run.col_offset + 1,
            )


def _top_level_run(tree: ast.Module) -> ast.AST | None:
    """The last top-level statement binding ``run``; only a plain ``def`` is inspected further."""
    found: ast.AST | None = None
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if statement.name == "run":
                found = statement
        elif any(_binds_run(node) for node in ast.walk(statement)):
            found = statement  # an assignment, an import, an if/try block: only running it could tell
    return found


def _binds_run(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id == "run" and isinstance(node.ctx, ast.Store)
    if isinstance(node, ast.alias):
        return (node.asname or node.name) == "run"
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name == "run"
    return False


def _signature_problem(args: ast.arguments) -> str | None:
    positional = [*args.posonlyargs, *args.args]
    if args.vararg is None and len(positional) < 2:
        count = len(positional)
        return f"takes {count} positional argument{'s' if count != 1 else ''}"
    required = len(positional) - len(args.defaults)
    if required > 2:
        return f"needs {required} positional arguments"
    missing = [a.arg for a in args.kwonlyargs if a is not None and _kw_default_missing(args, a)]
    if missing:
        return f"needs keyword-only argument{'s' if len(missing) != 1 else ''} {', '.join(missing)}"
    return None


def _kw_default_missing(args: ast.arguments, arg: ast.arg) -> bool:
    return args.kw_defaults[args.kwonlyargs.index(arg)] is None
