"""The pipeline test (INVENTORY §5.4, D8): the whole DAG through the engine's executor."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from tentacular.engine._executor import describe_exception, execute
from tentacular.engine._output import add_secrets as add_output_secrets
from tentacular.engine._secrets import Redactor
from tentacular.errors import NodeLoadError
from tentacular.spec import Dag, Enforcement
from tentacular.testing._compare import first_difference
from tentacular.testing._fixtures import check_mocked_dependencies, load_pipeline_fixture
from tentacular.testing._mock_context import InvocationRecord
from tentacular.testing._results import CaseResult, TestReport, load_error_location, node_traceback
from tentacular.testing._usage import run_scope
from tentacular.testing._workflow import WorkflowUnderTest, json_normalised, relative_to, to_ms


async def run_pipeline_test(directory: Path, *, enforcement: Enforcement = "strict") -> TestReport:
    """The whole DAG through the engine's executor, every node with a fresh mock context."""
    wut = WorkflowUnderTest.open(directory)
    workflow = wut.loaded.workflow
    fixture = load_pipeline_fixture(wut.directory, workflow.nodes)
    if fixture.file:
        check_mocked_dependencies(fixture.file, fixture.mocks, wut.dependency_names)
    dag = Dag.build(workflow.nodes, workflow.edge_pairs)
    config = wut.config(fixture.config)
    redactor = Redactor.for_secrets(fixture.secrets)
    add_output_secrets(fixture.secrets)  # node prints and logging of this case are redacted too
    records: dict[str, InvocationRecord] = {}
    raised: dict[str, BaseException] = {}
    notes = (
        []
        if fixture.file
        else ["no tests/fixtures/pipeline.json: root input {}, dependency requests answer {mock: true, ...}"]
    )

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

    scope = run_scope(workflow.name, "pipeline-test")
    execution = await execute(
        dag,
        run_node,
        fixture.input,
        timeout=wut.timeout,
        retries=0,  # mocks answer the same every time; a retry would only hide the failure
        redactor=redactor,
        describe_error=describe,
        observer=scope,
    )
    scope.finish(success=execution.success, error=None)
    results: list[CaseResult] = []
    for node in dag.order:
        start, end = execution.node_timings.get(node, (0.0, 0.0))
        result = CaseResult(
            node,
            "pipeline",
            False,
            duration_ms=to_ms(end - start),
            expected=fixture.expected.get(node),
            has_expected=node in fixture.expected,
            file=relative_to(fixture.file, wut.directory) if fixture.file else None,
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
            output = json_normalised(node, execution.outputs[node])
            result.actual = redactor.data(output)
            difference = first_difference(result.expected, output) if result.has_expected else None
            if difference is not None:
                result.difference = difference
                result.error = redactor.text(difference.render())
            else:
                result.passed = True
        result.redact(redactor)
        results.append(result)
    drift = wut.drift(list(records.values()), enforcement)
    return TestReport(wut.name, wut.directory, "pipeline", results, drift, notes, usage=scope.usage_block())
