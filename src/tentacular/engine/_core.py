"""The embedded engine: one loaded workflow version, run on demand, swapped on reload.

``WorkflowEngine.run`` snapshots the current ``Revision`` at its start, so a hot
reload (F-093) never changes the code of a run already in flight: the swap is one
attribute assignment, atomic for the event loop.
"""

from __future__ import annotations

import asyncio
import os
import random
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tentacular.engine._context import Context, EngineServices
from tentacular.engine._executor import (
    AttemptProbe,
    ExecutionObserver,
    ExecutionResult,
    Sleep,
    describe_exception,
    execute,
)
from tentacular.engine._logs import LogSink
from tentacular.engine._runtime import NodeFunction, load_nodes
from tentacular.engine._survival import watch_loop
from tentacular.spec import Dag, LoadedWorkflow

if TYPE_CHECKING:
    from tentacular.spec import Workflow

_ids = random.Random(os.urandom(16))
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(16)))  # workers must not share ids


def new_run_id() -> str:
    """12 random hex digits; from a seeded generator, not a getrandom() system call per run."""
    return f"{_ids.getrandbits(48):012x}"


def compile_dag(workflow: Workflow) -> Dag:
    return Dag.build(workflow.nodes, workflow.edge_pairs)


class Revision:
    """Everything one version of a workflow needs to run; built once, never changed (a reload
    builds a new one). Not a dataclass: a pod's start defines none
    (tests/engine/test_startup_imports.py)."""

    __slots__ = ("dag", "file", "nodes", "nodes_dir", "retries", "services", "timeout", "workflow")

    def __init__(
        self,
        *,
        workflow: Workflow,
        file: Path,
        dag: Dag,
        nodes: Mapping[str, NodeFunction],
        services: EngineServices,
        timeout: float,
        retries: int,
    ) -> None:
        self.workflow = workflow
        self.file = file
        self.dag = dag
        self.nodes = nodes
        self.services = services
        self.timeout = timeout
        self.retries = retries
        self.nodes_dir = (file.parent / "nodes").resolve()

    @property
    def directory(self) -> Path:
        return self.file.parent

    def describe_error(self, node: str, error: BaseException) -> str:
        """The error text plus where in the node's own code it was raised."""
        message = describe_exception(node, error)
        where = None
        for frame, line in traceback.walk_tb(error.__traceback__):
            filename = frame.f_code.co_filename
            if filename.startswith(str(self.nodes_dir)):
                where = f"{Path(filename).relative_to(self.directory.resolve())}:{line}"
        return f"{message} (at {where})" if where else message


def build_revision(loaded: LoadedWorkflow, dag: Dag, services: EngineServices) -> Revision:
    workflow = loaded.workflow
    paths = {node: spec.relative_path for node, spec in workflow.nodes.items()}
    return Revision(
        workflow=workflow,
        file=loaded.file,
        dag=dag,
        nodes=load_nodes(loaded.directory, paths),
        services=services,
        timeout=workflow.config.timeout_seconds,
        retries=workflow.config.retries,
    )


class RetryLog:
    """The observer of a retried workflow: one log line per failed attempt, with its number.

    It wraps the telemetry scope (the executor's one observer hook), remembers each node's
    current attempt for ``ctx.attempt`` and ``ctx.log``, and makes the final error say how
    many attempts ran.
    """

    __slots__ = ("current", "inner", "log", "run_id", "total")

    def __init__(self, inner: ExecutionObserver, log: LogSink, run_id: str, total: int) -> None:
        self.inner = inner
        self.log = log
        self.run_id = run_id
        self.total = total
        self.current: dict[str, int] = {}

    def attempt(self, node: str, attempt: int) -> AttemptProbe:
        self.current[node] = attempt + 1
        return _LoggedAttempt(self, node, attempt + 1, self.inner.attempt(node, attempt))

    def count_attempts(self, errors: dict[str, str]) -> None:
        for node, message in errors.items():
            ran = self.current.get(node, 1)
            if ran > 1:
                errors[node] = f"{message} (after {ran} attempts)"


class _LoggedAttempt:
    __slots__ = ("inner", "node", "number", "owner")

    def __init__(self, owner: RetryLog, node: str, number: int, inner: AttemptProbe) -> None:
        self.owner = owner
        self.node = node
        self.number = number
        self.inner = inner

    def end(self, outcome: str, error: BaseException | None, message: str | None) -> None:
        self.inner.end(outcome, error, message)
        if outcome not in ("error", "timeout"):
            return
        owner = self.owner
        then = "retrying" if self.number < owner.total else "giving up"
        owner.log.emit(
            "warning",
            f"attempt {self.number}/{owner.total} failed: {message}; {then}",
            node=self.node,
            run=owner.run_id,
            fields={"attempt": self.number},
        )


class WorkflowEngine:
    """Runs the current revision; ``reload()`` swaps in a new one or leaves the old one serving."""

    def __init__(self, revision: Revision, *, sleep: Sleep = asyncio.sleep) -> None:
        self._revision = revision
        self._sleep = sleep
        self.generation = 1

    @property
    def revision(self) -> Revision:
        return self._revision

    @property
    def services(self) -> EngineServices:
        return self._revision.services

    async def run(
        self,
        payload: Any,
        *,
        run_id: str | None = None,
        trigger: str = "manual",
        carrier: Mapping[str, str] | None = None,
    ) -> ExecutionResult:
        """One run. ``trigger`` names what started it (manual, cron, queue, webhook) and
        ``carrier`` holds W3C trace headers of the caller (see ``_telemetry.carrier_from_headers``)."""
        revision = self._revision
        services = revision.services
        nodes = revision.nodes
        rid = run_id or new_run_id()
        watch_loop(str(revision.nodes_dir))  # sandbox: async nodes blocking the loop are interrupted
        workflow = revision.workflow

        scope = services.telemetry.begin_run(
            workflow=workflow.name, version=workflow.version, run_id=rid, trigger=trigger, carrier=carrier
        )
        observer: ExecutionObserver = scope
        retried: RetryLog | None = None
        if revision.retries:
            observer = retried = RetryLog(scope, services.log, rid, revision.retries + 1)

            def run_node(node: str, value: Any) -> Any:
                context = Context(services, node, rid, attempt=retried.current.get(node, 1))
                return nodes[node](context, value)

        else:

            def run_node(node: str, value: Any) -> Any:
                return nodes[node](Context(services, node, rid), value)

        try:
            result = await execute(
                revision.dag,
                run_node,
                payload,
                timeout=revision.timeout,
                retries=revision.retries,
                sleep=self._sleep,
                redactor=services.redactor,
                describe_error=revision.describe_error,
                observer=observer,
            )
        except BaseException as exc:
            scope.finish(success=False, error=services.redactor.text(f"{type(exc).__name__}: {exc}"))
            raise
        if retried is not None:
            retried.count_attempts(result.errors)
        result.usage = scope.usage_block()
        scope.finish(
            success=result.success,
            error=next(iter(result.errors.values()), None),
            cancelled=result.cancelled,
        )
        return result

    def reload(self) -> Revision:
        """Re-parse workflow.yaml, recompile the DAG and re-import every node (Q32).

        Raises SpecError / NodeLoadError / ValueError and keeps the current revision when
        anything is broken (F-094).
        """
        current = self._revision
        from tentacular.spec import load_workflow  # hot reload validates the edited file

        loaded = load_workflow(current.file)
        dag = compile_dag(loaded.workflow)
        services = current.services.with_contract(
            loaded.workflow.config.as_mapping(), loaded.workflow.contract
        )
        services.http.set_timeout(loaded.workflow.config.timeout_seconds)
        revision = build_revision(loaded, dag, services)
        self._revision = revision
        self.generation += 1
        return revision
