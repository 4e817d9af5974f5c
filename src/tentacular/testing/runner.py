"""Node fixture tests and the pipeline test (INVENTORY §5.3, §5.4, D8).

Nodes are loaded by the engine's runtime registry and the pipeline runs through
the engine's executor; only the context differs (``MockContext``), so what
passes here is the code that runs in a pod.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tentacular.engine.executor import describe_exception, execute
from tentacular.engine.runtime import NodeFunction, resolve_node_path, runtime_for
from tentacular.engine.secrets import Redactor
from tentacular.errors import FixtureError, InputError, NodeLoadError, WorkflowNotFoundError
from tentacular.spec import WORKFLOW_FILE, Dag, LoadedWorkflow, load_workflow
from tentacular.testing.compare import first_difference
from tentacular.testing.drift import Enforcement, analyze_drift, node_source_text
from tentacular.testing.fixtures import (
    DEFAULT_CASE,
    DependencyMocks,
    NodeFixture,
    discover_node_fixtures,
    load_node_fixture,
    load_pipeline_fixture,
    orphan_fixtures,
    split_fixture_name,
)
from tentacular.testing.mock_context import InvocationRecord, MockContext
from tentacular.testing.results import CaseResult, TestReport, load_error_location, node_traceback


def parse_target(target: str | Path | None) -> tuple[Path, str | None]:
    """``DIR`` or ``DIR/NODE`` (INVENTORY §6.5.4): an existing directory is the workflow."""
    path = Path(target) if target not in (None, "") else Path()
    if path.is_dir():
        return path, None
    if not (path.parent / WORKFLOW_FILE).is_file():
        raise WorkflowNotFoundError(
            f"{path} is neither a workflow directory nor <workflow-dir>/<node>",
            hint="e.g. tntc test my-workflow, or tntc test my-workflow/fetch-data for one node",
        )
    return path.parent, path.name


class _NotJson(Exception):
    pass


@dataclass
class WorkflowUnderTest:
    """A loaded workflow plus the node functions loaded so far (one import per node and run)."""

    loaded: LoadedWorkflow
    _functions: dict[str, NodeFunction | NodeLoadError] = field(default_factory=dict)
    _prepared: set[str] = field(default_factory=set)

    @classmethod
    def open(cls, directory: Path) -> WorkflowUnderTest:
        return cls(load_workflow(directory))

    @property
    def directory(self) -> Path:
        return self.loaded.directory

    @property
    def nodes_dir(self) -> Path:
        return (self.directory / "nodes").resolve()

    @property
    def name(self) -> str:
        return self.loaded.workflow.name

    def node_function(self, node: str) -> NodeFunction:
        """Load through the engine's runtime registry; a broken node fails only its own cases."""
        cached = self._functions.get(node)
        if cached is None:
            try:
                path = resolve_node_path(self.directory, node, self.loaded.workflow.nodes[node].relative_path)
                runtime = runtime_for(path)
                if runtime.name not in self._prepared:
                    # prepare() drops helper modules of the previous workflow; once per run is enough.
                    runtime.prepare(self.nodes_dir)
                    self._prepared.add(runtime.name)
                cached = runtime.load(node, path, self.nodes_dir)
            except NodeLoadError as exc:
                cached = exc
            self._functions[node] = cached
        if isinstance(cached, NodeLoadError):
            raise cached
        return cached

    def config(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The workflow's config block with the fixture's ``config`` laid over it."""
        return {**self.loaded.workflow.config.as_mapping(), **overrides}

    @property
    def timeout(self) -> float:
        return self.loaded.workflow.config.timeout_seconds

    def drift(self, records: list[InvocationRecord], enforcement: Enforcement) -> Any:
        workflow = self.loaded.workflow
        contract = workflow.contract
        sources = {
            node: node_source_text(self.directory / spec.relative_path, self.nodes_dir)
            for node, spec in workflow.nodes.items()
        }
        secret_services = {}
        if contract is not None:
            secret_services = {d.auth.service: n for n, d in contract.dependencies.items() if d.auth}
        return analyze_drift(
            records,
            declared=dict(contract.dependencies) if contract is not None else None,
            secret_services=secret_services,
            all_nodes=list(workflow.nodes),
            node_sources=sources,
            enforcement=enforcement,
        )

    def context(
        self,
        node: str,
        *,
        config: Mapping[str, Any],
        secrets: Mapping[str, Mapping[str, Any]],
        mocks: DependencyMocks,
        record: InvocationRecord,
    ) -> MockContext:
        return MockContext(
            node,
            contract=self.loaded.workflow.contract,
            config=config,
            secrets=secrets,
            mocks=mocks,
            record=record,
        )


def _json_normalised(node: str, value: Any) -> Any:
    """What the output looks like on the wire; also the engine's JSON-serialisability rule (D3)."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        raise _NotJson(
            f'Node "{node}" returned a value that is not JSON-serialisable ({type(value).__name__}): {exc}'
        ) from None


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _relative(path: Path, directory: Path) -> str:
    try:
        return str(path.resolve().relative_to(directory.resolve()))
    except ValueError:
        return str(path)


async def run_case(wut: WorkflowUnderTest, file: Path) -> CaseResult:
    """Run one fixture file against its node."""
    try:
        fixture = load_node_fixture(file)
    except FixtureError as exc:
        node, case = split_fixture_name(file.name) or (file.stem, DEFAULT_CASE)
        return CaseResult(
            node, case, False, error=f"invalid fixture: {exc.message}", hint=exc.hint, file=str(file)
        )
    return await run_fixture(wut, fixture)


async def run_fixture(wut: WorkflowUnderTest, fixture: NodeFixture) -> CaseResult:
    redactor = Redactor.for_secrets(fixture.secrets)
    record = InvocationRecord(fixture.node)
    result = CaseResult(
        fixture.node,
        fixture.case,
        False,
        expected=fixture.expected,
        has_expected=fixture.has_expected,
        file=_relative(fixture.file, wut.directory),
        record=record,
    )
    try:
        function = wut.node_function(fixture.node)
    except NodeLoadError as exc:
        result.error = redactor.text(exc.message)
        result.hint = exc.hint
        result.traceback = load_error_location(exc.details, wut.directory)
        return result
    ctx = wut.context(
        fixture.node,
        config=wut.config(fixture.config),
        secrets=fixture.secrets,
        mocks=fixture.mocks,
        record=record,
    )
    started = time.perf_counter()
    raised: BaseException | None = None
    output: Any = None
    try:
        async with asyncio.timeout(wut.timeout):
            output = await function(ctx, fixture.input)
        output = _json_normalised(fixture.node, output)
    except TimeoutError as exc:
        raised = exc
        result.error = f'Node "{fixture.node}" timed out after {_ms(wut.timeout)}ms'
    except _NotJson as exc:
        raised = exc
        result.error = str(exc)
    except Exception as exc:
        raised = exc
        result.error = describe_exception(fixture.node, exc)
    finally:
        await ctx.aclose()
        result.duration_ms = _ms(time.perf_counter() - started)
    if raised is not None:
        result.traceback = node_traceback(raised, wut.directory)
    result.actual = redactor.data(output) if raised is None else None
    result.logs = [redactor.text(entry.render()) for entry in record.logs]
    _judge(result, fixture, record, raised, output)
    if result.error:
        result.error = redactor.text(result.error)
    return result


def _judge(
    result: CaseResult,
    fixture: NodeFixture,
    record: InvocationRecord,
    raised: BaseException | None,
    output: Any,
) -> None:
    if record.unmatched:
        # Even when the node swallowed the error, an unanswered request means the fixture is wrong.
        if raised is None or "no mock for" not in (result.error or ""):
            result.error = "request without a matching mock: " + "; ".join(record.unmatched)
        result.hint = 'add the request under the fixture\'s mocks, keyed "METHOD /path"'
        return
    if fixture.expect_error is not None:
        if raised is None:
            result.error = (
                f'expected an error containing "{fixture.expect_error}", but the node returned a value'
            )
            return
        if fixture.expect_error not in (result.error or ""):
            result.error = f'expected an error containing "{fixture.expect_error}", got: {result.error}'
            return
        result.passed = True
        result.traceback = []
        return
    if raised is not None:
        return
    if fixture.has_expected:
        difference = first_difference(fixture.expected, output)
        if difference is not None:
            result.difference = difference
            result.error = difference.render()
            return
    result.passed = True


async def run_node_tests(
    directory: Path, node: str | None = None, *, enforcement: Enforcement = "strict"
) -> TestReport:
    wut = WorkflowUnderTest.open(directory)
    nodes = wut.loaded.workflow.nodes
    if node is not None and node not in nodes:
        raise InputError(
            f'Node "{node}" is not defined in {wut.loaded.file.name} of {wut.name}',
            hint="nodes: " + ", ".join(nodes),
        )
    selected = [node] if node is not None else list(nodes)
    results: list[CaseResult] = []
    notes: list[str] = []
    for node_id in selected:
        files = discover_node_fixtures(wut.directory, node_id)
        if not files:
            results.append(CaseResult(node_id, "-", True, skipped=True, error=None))
            continue
        for file in files:
            results.append(await run_case(wut, file))
    if node is None:
        for orphan in orphan_fixtures(wut.directory, nodes):
            results.append(
                CaseResult(
                    orphan.name.partition(".")[0],
                    "-",
                    False,
                    file=_relative(orphan, wut.directory),
                    error=f"fixture {orphan.name} matches no node of {wut.name}",
                    hint="fixtures are named <node>.json or <node>.<case>.json; nodes: " + ", ".join(nodes),
                )
            )
    untested = [r.node for r in results if r.skipped]
    if untested:
        notes.append("nodes without fixtures: " + ", ".join(untested))
    records = [r.record for r in results if r.record is not None]
    return TestReport(wut.name, wut.directory, "nodes", results, wut.drift(records, enforcement), notes)


async def run_pipeline_test(directory: Path, *, enforcement: Enforcement = "strict") -> TestReport:
    """The whole DAG through the engine's executor, every node with a fresh mock context."""
    wut = WorkflowUnderTest.open(directory)
    workflow = wut.loaded.workflow
    fixture = load_pipeline_fixture(wut.directory, workflow.nodes)
    dag = Dag.build(workflow.nodes, workflow.edge_pairs)
    config = wut.config(fixture.config)
    redactor = Redactor.for_secrets(fixture.secrets)
    records: dict[str, InvocationRecord] = {}
    raised: dict[str, BaseException] = {}
    notes = [] if fixture.file else ["no tests/fixtures/pipeline.json: root input {}, nothing mocked"]

    for node in dag.order:  # load up front so import time does not count as node time
        with contextlib.suppress(NodeLoadError):
            wut.node_function(node)

    async def run_node(node: str, value: Any) -> Any:
        record = records[node] = InvocationRecord(node)
        function = wut.node_function(node)
        ctx = wut.context(node, config=config, secrets=fixture.secrets, mocks=fixture.mocks, record=record)
        try:
            return await function(ctx, value)
        finally:
            await ctx.aclose()

    def describe(node: str, error: BaseException) -> str:
        raised[node] = error
        return describe_exception(node, error)

    execution = await execute(
        dag,
        run_node,
        fixture.input,
        timeout=wut.timeout,
        retries=0,  # mocks answer the same every time; a retry would only hide the failure
        redactor=redactor,
        describe_error=describe,
    )
    results: list[CaseResult] = []
    for node in dag.order:
        start, end = execution.node_timings.get(node, (0.0, 0.0))
        result = CaseResult(
            node,
            "pipeline",
            False,
            duration_ms=_ms(end - start),
            expected=fixture.expected.get(node),
            has_expected=node in fixture.expected,
            file=_relative(fixture.file, wut.directory) if fixture.file else None,
            record=records.get(node),
        )
        record = records.get(node)
        if record is not None:
            result.logs = [redactor.text(entry.render()) for entry in record.logs]
        if node in execution.errors:
            result.error = execution.errors[node]
            error = raised.get(node)
            if isinstance(error, NodeLoadError):
                result.traceback = load_error_location(error.details, wut.directory)
                result.hint = error.hint
            elif error is not None:
                result.traceback = node_traceback(error, wut.directory)
        elif node in execution.cancelled:
            result.error = "cancelled: another node failed first"
        elif node not in execution.outputs:
            result.error = "not run: the run stopped at the first failure"
        elif record is not None and record.unmatched:
            result.error = "request without a matching mock: " + "; ".join(record.unmatched)
        else:
            output = _json_normalised(node, execution.outputs[node])
            result.actual = redactor.data(output)
            difference = first_difference(result.expected, output) if result.has_expected else None
            if difference is not None:
                result.difference = difference
                result.error = redactor.text(difference.render())
            else:
                result.passed = True
        results.append(result)
    return TestReport(
        wut.name, wut.directory, "pipeline", results, wut.drift(list(records.values()), enforcement), notes
    )


def run_tests(
    target: str | Path | None = None, *, pipeline: bool = False, enforcement: Enforcement = "strict"
) -> TestReport:
    """Blocking entry point for the CLI.

    A node's ``print()`` goes to stderr while the cases run: stdout belongs to the
    report (with ``-o json`` it must hold exactly one JSON document).
    """
    directory, node = parse_target(target)
    if pipeline and node is not None:
        raise InputError(
            f"--pipeline runs the whole workflow; {directory / node} is not a workflow directory",
            hint="pass the workflow directory, or drop --pipeline to test one node",
        )
    with contextlib.redirect_stdout(sys.stderr):
        if pipeline:
            return asyncio.run(run_pipeline_test(directory, enforcement=enforcement))
        return asyncio.run(run_node_tests(directory, node, enforcement=enforcement))
