"""Hot reload for `tntc dev` / `--watch` (F-091…F-095, Q32).

Any change to node code, helper modules or workflow.yaml re-parses the workflow,
recompiles the DAG and re-imports every node; the new revision replaces the old
one in a single assignment, so runs in flight finish on the code they started
with. A broken edit is reported and the previous revision keeps serving. Secrets are
resolved once at start (providers may be remote), so a change to ``.secrets.yaml`` or
``.secrets/`` is reported with "restart tntc dev" instead of being half-applied.

Event triggers (cron, queue, webhook) and the NATS connection are set up once at start,
together with the runtime guard's and the kernel layer's grants for them, so a reload
does not change them: when workflow.yaml's triggers or NATS settings change, the reload
says which and that `tntc dev` must be restarted to apply them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tentacular.engine._core import WorkflowEngine
from tentacular.engine._logs import LogSink
from tentacular.errors import TentacularError
from tentacular.spec import Workflow

WATCHED_SUFFIXES = (".py", ".ts", ".js", ".yaml", ".yml", ".json")
DEBOUNCE_MS = 200


SECRETS_SOURCES = (".secrets.yaml", ".secrets")
SECRETS_CHANGED = (
    "secrets changed ({files}): they are read once when the engine starts; "
    "restart tntc dev to use the new values (the running version keeps the old ones)"
)


def is_secrets_source(path: str, root: Path) -> bool:
    """The workflow's own ``.secrets.yaml`` or a file in its ``.secrets/`` directory."""
    try:
        parts = Path(path).relative_to(root).parts
    except ValueError:
        return False
    return bool(parts) and parts[0] in SECRETS_SOURCES


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
    before = engine.revision.workflow
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
    changes = trigger_changes(before, revision.workflow)
    if changes:
        log.engine(
            "warning",
            f"Triggers changed ({'; '.join(changes)}): restart tntc dev to apply them; "
            "until then the triggers it started with keep running",
        )
    return True


def trigger_changes(before: Workflow, after: Workflow) -> list[str]:
    """What a reload leaves as it was: added or removed event triggers, changed NATS settings."""
    old, new = _event_triggers(before), _event_triggers(after)
    changes = [f"added {label}" for key, label in new.items() if key not in old]
    changes += [f"removed {label}" for key, label in old.items() if key not in new]
    nats_before = {k: v for k, v in before.config.as_mapping().items() if k.startswith("nats_")}
    nats_after = {k: v for k, v in after.config.as_mapping().items() if k.startswith("nats_")}
    if nats_before != nats_after:
        changes.append("NATS settings (config.nats_*)")
    return changes


def _event_triggers(workflow: Workflow) -> dict[str, str]:
    """Each non-manual trigger by its full settings, with a short label."""
    import json

    found: dict[str, str] = {}
    for trigger in workflow.triggers:
        if trigger.type == "manual":
            continue
        settings = trigger.model_dump(mode="json", exclude_none=True)
        detail = settings.get("schedule") or settings.get("subject") or settings.get("path") or ""
        name = f" {trigger.name}" if trigger.name else ""
        found[json.dumps(settings, sort_keys=True)] = f"{trigger.type}{name} {detail}".strip()
    return found


async def watch_and_reload(
    engine: WorkflowEngine, log: LogSink, *, stop: asyncio.Event | None = None
) -> None:
    from watchfiles import awatch

    root = engine.revision.directory.resolve()

    def accept(_change: Any, path: str) -> bool:
        return is_watched(path, root) or is_secrets_source(path, root)

    async for changes in awatch(
        root, watch_filter=accept, debounce=DEBOUNCE_MS, step=50, stop_event=stop, recursive=True
    ):
        secrets = sorted({str(Path(p).relative_to(root)) for _, p in changes if is_secrets_source(p, root)})
        if secrets:  # names of files only: never a key or a value
            log.engine("warning", SECRETS_CHANGED.format(files=", ".join(secrets)))
        changed = sorted(
            {str(Path(p).relative_to(root)) for _, p in changes if not is_secrets_source(p, root)}
        )
        if changed:
            reload_now(engine, log, changed)
