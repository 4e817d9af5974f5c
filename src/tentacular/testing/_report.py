"""Readable text for a test report (INVENTORY §5.6, §5.7): results, then the drift report."""

from __future__ import annotations

from typing import TextIO

from tentacular.testing._drift import DriftReport
from tentacular.testing._results import CaseResult, TestReport

PASS_MARK = "✓"
FAIL_MARK = "✗"
SKIP_MARK = "○"


def render_header(workflow: str, out: TextIO, *, pipeline: bool = False) -> None:
    title = "Pipeline Test" if pipeline else "Test Results"
    out.write(f"─── {title}: {workflow} ───\n")


class CaseStream:
    """Prints each case the moment it finishes (``run_tests(on_case=...)``), header first.

    ``render_report(report, out, streamed=stream.shown)`` then prints what is left: the
    cases that were not streamed (nodes without fixtures, orphan fixtures), the summary, the
    drift report.
    """

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.shown: set[tuple[str, str]] = set()

    def __call__(self, workflow: str, result: CaseResult) -> None:
        if not self.shown:
            render_header(workflow, self.out)
        self.shown.add((result.node, result.case))
        render_case(result, self.out)
        self.out.flush()


def render_report(report: TestReport, out: TextIO, *, streamed: set[tuple[str, str]] | None = None) -> None:
    if not streamed:
        render_header(report.workflow, out, pipeline=report.mode == "pipeline")
    for result in report.results:
        if not streamed or (result.node, result.case) not in streamed:
            render_case(result, out)
    executed = report.executed
    passed = sum(1 for result in executed if result.passed)
    out.write(f"\n{passed}/{len(executed)} {'nodes' if report.mode == 'pipeline' else 'tests'} passed\n")
    if report.usage is not None:
        from tentacular.testing._usage import describe_usage

        calls = report.usage["total"]["calls"]
        out.write(f"Token usage: {describe_usage(report.usage)} in {calls} LLM call(s)\n")
    for note in report.notes:
        out.write(f"note: {note}\n")
    render_drift(report.drift, out)


def render_case(result: CaseResult, out: TextIO) -> None:
    if result.skipped:
        out.write(f"  {SKIP_MARK} {result.node}: no fixtures\n")
        return
    mark = PASS_MARK if result.passed else FAIL_MARK
    out.write(f"  {mark} {result.name} ({result.duration_ms}ms)\n")
    if result.passed:
        return
    for line in (result.error or "failed").splitlines():
        out.write(f"      {line}\n")
    if result.traceback:
        out.write("      in the node's code:\n")
        for line in result.traceback:
            out.write(f"        {line}\n")
    if result.hint:
        out.write(f"      hint: {result.hint}\n")
    if result.file:
        out.write(f"      fixture: {result.file}\n")
    if result.logs:
        out.write("      logs:\n")
        for line in result.logs:
            out.write(f"        {line}\n")


def render_drift(drift: DriftReport, out: TextIO) -> None:
    out.write("\n=== Contract Drift Report ===\n")
    if not drift.has_contract:
        for note in drift.notes:
            out.write(f"  {note}\n")
        return
    strict = drift.enforcement == "strict"
    out.write("VIOLATIONS:\n" if strict else "WARNINGS (audit mode):\n")
    if not drift.findings:
        out.write("  (none)\n")
    for finding in drift.findings:
        nodes = f" (nodes: {', '.join(finding.nodes)})" if finding.nodes else ""
        out.write(f"  [{finding.type}] {finding.message}{nodes}\n")
        out.write(f"     Suggestion: {finding.suggestion}\n")
    if drift.notes:
        out.write("NOTES:\n")
        for note in drift.notes:
            out.write(f"  {note}\n")
    summary = drift.to_dict()["summary"]
    out.write("SUMMARY:\n")
    out.write(f"  Dependencies accessed: {', '.join(summary['dependenciesAccessed']) or '(none)'}\n")
    out.write(f"  Direct fetch calls: {summary['directFetchCalls']}\n")
    out.write(f"  Direct secrets access: {summary['directSecretsAccess']}\n")
    out.write(f"  Dead declarations: {summary['deadDeclarations']}\n")
    out.write(f"  Undeclared dependencies: {summary['undeclaredDependencies']}\n")
    out.write(f"  Has violations: {'YES' if drift.findings else 'NO'}\n")
    if drift.findings and strict:
        out.write("❌ STRICT MODE: Contract violations detected\n")
    elif drift.findings:
        out.write("⚠️  AUDIT MODE: violations reported as warnings; keep strict mode in CI\n")
