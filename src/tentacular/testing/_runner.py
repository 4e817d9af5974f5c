"""Node fixture tests (INVENTORY §5.3, D8) and the blocking entry point of ``tntc test``.

Nodes are loaded by the engine's runtime registry and the pipeline runs through
the engine's executor (``pipeline.py``); only the context differs
(``MockContext``), so what passes here is the code that runs in a pod.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from tentacular.engine._executor import describe_exception
from tentacular.engine._output import add_secrets as add_output_secrets
from tentacular.engine._secrets import Redactor
from tentacular.errors import FixtureError, InputError, NodeLoadError, WorkflowNotFoundError
from tentacular.spec import WORKFLOW_FILE, Enforcement
from tentacular.testing._compare import first_difference
from tentacular.testing._confined import report_progress, run_confined
from tentacular.testing._fixtures import (
    DEFAULT_CASE,
    NodeFixture,
    check_mocked_dependencies,
    discover_node_fixtures,
    load_node_fixture,
    orphan_fixtures,
    split_fixture_name,
)
from tentacular.testing._mock_context import InvocationRecord
from tentacular.testing._pipeline import run_pipeline_test
from tentacular.testing._results import CaseResult, TestReport, load_error_location, node_traceback
from tentacular.testing._usage import UsageCollector
from tentacular.testing._workflow import NotJsonOutput, WorkflowUnderTest, json_normalised, relative_to, to_ms

__all__ = [
    "WorkflowUnderTest",
    "parse_target",
    "run_case",
    "run_node_tests",
    "run_pipeline_test",
    "run_tests",
]


def parse_target(target: str | Path | None) -> tuple[Path, str | None]:
    """``DIR`` or ``DIR/NODE`` (INVENTORY §6.5.4): an existing directory is the workflow."""
    path = Path(target) if target not in (None, "") else Path()
    if path.is_dir():
        return path, None
    if path.name == WORKFLOW_FILE and path.is_file():  # like every other command (validate, run, deploy)
        return path.parent, None
    if not (path.parent / WORKFLOW_FILE).is_file():
        raise WorkflowNotFoundError(
            f"{path} is neither a workflow directory nor <workflow-dir>/<node>",
            hint="e.g. tntc test my-workflow, or tntc test my-workflow/fetch-data for one node",
        )
    return path.parent, path.name


async def run_case(wut: WorkflowUnderTest, file: Path, usage: UsageCollector | None = None) -> CaseResult:
    """Run one fixture file against its node."""
    try:
        fixture = load_node_fixture(file)
        check_mocked_dependencies(file, fixture.mocks, wut.dependency_names)
    except FixtureError as exc:
        node, case = split_fixture_name(file.name) or (file.stem, DEFAULT_CASE)
        return CaseResult(
            node, case, False, error=f"invalid fixture: {exc.message}", hint=exc.hint, file=str(file)
        )
    return await run_fixture(wut, fixture, usage)


async def run_fixture(
    wut: WorkflowUnderTest, fixture: NodeFixture, usage: UsageCollector | None = None
) -> CaseResult:
    redactor = Redactor.for_secrets(fixture.secrets)
    add_output_secrets(fixture.secrets)  # node prints and logging of this case are redacted too
    record = InvocationRecord(fixture.node)
    result = CaseResult(
        fixture.node,
        fixture.case,
        False,
        expected=fixture.expected,
        has_expected=fixture.has_expected,
        file=relative_to(fixture.file, wut.directory),
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
        with usage.attempt(fixture.node) if usage is not None else contextlib.nullcontext():
            async with asyncio.timeout(wut.timeout):
                output = await function(ctx, fixture.input)
        output = json_normalised(fixture.node, output)
    except TimeoutError as exc:
        raised = exc
        result.error = f'Node "{fixture.node}" timed out after {to_ms(wut.timeout)}ms'
    except NotJsonOutput as exc:
        raised = exc
        result.error = str(exc)
    except Exception as exc:
        raised = exc
        result.error = describe_exception(fixture.node, exc)
    finally:
        await ctx.aclose()
        result.duration_ms = to_ms(time.perf_counter() - started)
    if raised is not None:
        result.traceback = node_traceback(raised, wut.directory)
    result.actual = redactor.data(output) if raised is None else None
    result.logs = [redactor.text(entry.render()) for entry in record.logs]
    _judge(result, fixture, record, raised, output)
    result.redact(redactor)
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


CaseSink = Callable[[str, CaseResult], None]


async def run_node_tests(
    directory: Path,
    node: str | None = None,
    *,
    enforcement: Enforcement = "strict",
    on_case: CaseSink | None = None,
) -> TestReport:
    wut = WorkflowUnderTest.open(directory)
    nodes = wut.loaded.workflow.nodes
    if node is not None and node not in nodes:
        raise InputError(
            f'Node "{node}" is not defined in {wut.loaded.file.name} of {wut.name}',
            hint="nodes: " + ", ".join(nodes),
        )
    selected = [node] if node is not None else list(nodes)
    usage = UsageCollector(wut.name)
    results: list[CaseResult] = []
    notes: list[str] = []
    for node_id in selected:
        files = discover_node_fixtures(wut.directory, node_id)
        if not files:
            results.append(CaseResult(node_id, "-", True, skipped=True, error=None))
            continue
        for file in files:
            results.append(await run_case(wut, file, usage))
            if on_case is not None:
                on_case(wut.name, replace(results[-1], record=None))
    if node is None:
        for orphan in orphan_fixtures(wut.directory, nodes):
            results.append(
                CaseResult(
                    orphan.name.partition(".")[0],
                    "-",
                    False,
                    file=relative_to(orphan, wut.directory),
                    error=f"fixture {orphan.name} matches no node of {wut.name}",
                    hint="fixtures are named <node>.json or <node>.<case>.json; nodes: " + ", ".join(nodes),
                )
            )
    untested = [r.node for r in results if r.skipped]
    if untested:
        notes.append("nodes without fixtures: " + ", ".join(untested))
    records = [r.record for r in results if r.record is not None]
    drift = wut.drift(records, enforcement)
    return TestReport(wut.name, wut.directory, "nodes", results, drift, notes, usage=usage.block())


def run_tests(
    target: str | Path | None = None,
    *,
    pipeline: bool = False,
    enforcement: Enforcement = "strict",
    on_case: CaseSink | None = None,
) -> TestReport:
    """Blocking entry point for the CLI.

    A node's ``print()`` goes to stderr while the cases run: stdout belongs to the
    report (with ``-o json`` it must hold exactly one JSON document). The cases run in a
    child process under the engine's guard and kernel layer (``_confined``); ``on_case``
    (node tests) receives ``(workflow, case)`` in this process as each case finishes.
    """
    directory, node = parse_target(target)
    if pipeline and node is not None:
        raise InputError(
            f"--pipeline runs the whole workflow; {directory / node} is not a workflow directory",
            hint="pass the workflow directory, or drop --pipeline to test one node",
        )

    def work() -> TestReport:
        with contextlib.redirect_stdout(sys.stderr):
            if pipeline:
                report = asyncio.run(run_pipeline_test(directory, enforcement=enforcement))
            else:
                sink = None if on_case is None else lambda name, case: report_progress((name, case))
                report = asyncio.run(run_node_tests(directory, node, enforcement=enforcement, on_case=sink))
        for result in report.results:
            result.record = None  # already in the drift report; it holds a lock
        return report

    def relay(item: object) -> None:
        assert on_case is not None and isinstance(item, tuple)
        name, case = item
        on_case(str(name), case)

    return run_confined(directory, work, on_progress=relay if on_case is not None else None)
