"""Hot reload for `tntc dev` / `--watch` (F-091…F-095, Q32).

Any change to node code, helper modules or workflow.yaml re-parses the workflow,
recompiles the DAG and re-imports every node; the new revision replaces the old
one in a single assignment, so runs in flight finish on the code they started
with. A broken edit is reported and the previous revision keeps serving.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tentacular.engine._core import WorkflowEngine
from tentacular.engine._logs import LogSink
from tentacular.errors import TentacularError

WATCHED_SUFFIXES = (".py", ".ts", ".js", ".yaml", ".yml", ".json")
DEBOUNCE_MS = 200


def is_watched(path: str, root: Path) -> bool:
    try:
        parts = Path(path).relative_to(root).parts
    except ValueError:
        return False
    if any(part.startswith(".") or part == "__pycache__" for part in parts):
        return False  # .secrets/, editor swap files, bytecode
    return path.endswith(WATCHED_SUFFIXES)


def reload_now(engine: WorkflowEngine, log: LogSink, changed: list[str] | None = None) -> bool:
    """Reload once; log the outcome. Returns whether the new revision is serving."""
    if changed:
        log.engine("info", f"Files changed: {', '.join(changed)}")
    log.engine("info", "Reloading...")
    try:
        revision = engine.reload()
    except TentacularError as exc:
        log.engine("error", f"Reload failed, the previous version keeps serving: {exc.message}")
        for issue in getattr(exc, "issues", []):
            if issue.severity == "error":
                log.engine("error", f"  {issue.render()}")
        return False
    except ValueError as exc:  # the DAG compiler's cycle message
        log.engine("error", f"Reload failed, the previous version keeps serving: {exc}")
        return False
    from tentacular.engine._guard import follow_reload  # D4: the guard follows the reloaded contract

    follow_reload(revision.workflow, str(revision.directory.resolve()))
    dag = revision.dag
    log.engine("info", f"Reloaded: {len(dag.nodes)} node(s), {len(dag.stages)} stage(s)")
    return True


async def watch_and_reload(
    engine: WorkflowEngine, log: LogSink, *, stop: asyncio.Event | None = None
) -> None:
    from watchfiles import awatch

    root = engine.revision.directory.resolve()

    def accept(_change: Any, path: str) -> bool:
        return is_watched(path, root)

    async for changes in awatch(
        root, watch_filter=accept, debounce=DEBOUNCE_MS, step=50, stop_event=stop, recursive=True
    ):
        changed = sorted({str(Path(path).relative_to(root)) for _, path in changes})
        reload_now(engine, log, changed)
