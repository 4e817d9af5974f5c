"""Result types of a test run and the node's own traceback lines."""

from __future__ import annotations

import linecache
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tentacular.testing._compare import Difference
from tentacular.testing._drift import DriftReport
from tentacular.testing._mock_context import InvocationRecord

TestMode = Literal["nodes", "pipeline"]


@dataclass
class CaseResult:
    """One fixture case (or one node of a pipeline run)."""

    node: str
    case: str
    passed: bool
    duration_ms: int = 0
    expected: Any = None
    has_expected: bool = False
    actual: Any = None
    error: str | None = None
    hint: str | None = None
    difference: Difference | None = None
    traceback: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    file: str | None = None
    skipped: bool = False
    record: InvocationRecord | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return f"{self.node}[{self.case}]"

    def redact(self, redactor: Any) -> None:
        """Secret values out of everything the report shows (``redactor``: the engine's Redactor)."""
        if self.difference is not None:
            d = self.difference
            self.difference = Difference(d.path, redactor.data(d.expected), redactor.data(d.actual), d.reason)
        self.expected = redactor.data(self.expected)
        self.actual = redactor.data(self.actual)
        self.error = redactor.text(self.error) if self.error else self.error
        self.hint = redactor.text(self.hint) if self.hint else self.hint
        self.traceback = [redactor.text(line) for line in self.traceback]
        self.logs = [redactor.text(line) for line in self.logs]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "node": self.node,
            "case": self.case,
            "passed": self.passed,
            "durationMs": self.duration_ms,
            "expected": self.expected if self.has_expected else None,
            "actual": self.actual,
            "error": self.error,
        }
        if self.skipped:
            data["skipped"] = True
        if self.file:
            data["file"] = self.file
        if self.difference is not None:
            data["difference"] = self.difference.to_dict()
        if self.traceback:
            data["traceback"] = self.traceback
        if self.hint:
            data["hint"] = self.hint
        return data


@dataclass
class TestReport:
    workflow: str
    directory: Path
    mode: TestMode
    results: list[CaseResult]
    drift: DriftReport
    notes: list[str] = field(default_factory=list)
    usage: dict[str, Any] | None = None  # token usage of every case (ctx.usage, recognised mocks)

    __test__ = False  # not a pytest test class, despite the name

    @property
    def failed(self) -> list[CaseResult]:
        return [result for result in self.results if not result.passed]

    @property
    def executed(self) -> list[CaseResult]:
        return [result for result in self.results if not result.skipped]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.drift.failed

    @property
    def summary(self) -> str:
        total = len(self.executed)
        failed = len(self.failed)
        what = "pipeline nodes" if self.mode == "pipeline" else "tests"
        text = f"{failed} of {total} {what} failed" if failed else f"{total}/{total} {what} passed"
        if self.drift.findings:
            count = len(self.drift.findings)
            label = "violation" if self.drift.enforcement == "strict" else "warning"
            text += f"; {count} contract drift {label}{'s' if count != 1 else ''}"
        if self.usage is not None:
            from tentacular.testing._usage import describe_usage

            text += f"; {describe_usage(self.usage)}"
        return f"{self.workflow}: {text}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "directory": str(self.directory),
            "mode": self.mode,
            "results": [result.to_dict() for result in self.results],
            "drift": self.drift.to_dict(),
            "notes": self.notes,
            **({"usage": self.usage} if self.usage is not None else {}),
        }


def node_traceback(error: BaseException, workflow_dir: Path) -> list[str]:
    """The frames of ``error`` that lie in the workflow's code, formatted like Python does."""
    nodes_dir = (workflow_dir / "nodes").resolve()
    lines: list[str] = []
    for frame in traceback.extract_tb(error.__traceback__):
        path = Path(frame.filename)
        try:
            shown = path.resolve().relative_to(workflow_dir.resolve())
        except (ValueError, OSError):
            continue
        if not path.resolve().is_relative_to(nodes_dir):
            continue
        lines.append(f'File "{shown}", line {frame.lineno}, in {frame.name}')
        source = frame.line or linecache.getline(frame.filename, frame.lineno or 0).strip()
        if source:
            lines.append(f"  {source}")
    details = getattr(error, "details", None)
    if not lines and isinstance(details, dict) and details.get("file"):
        return load_error_location(details, workflow_dir)  # a TypeScript node: file and line from Deno
    return lines


def load_error_location(details: dict[str, Any], workflow_dir: Path) -> list[str]:
    """``NodeLoadError`` carries file/line of the broken node; show them like a frame."""
    file = details.get("file")
    if not file:
        return []
    path = Path(str(file))
    try:
        shown: Path | str = path.resolve().relative_to(workflow_dir.resolve())
    except (ValueError, OSError):
        shown = path
    line = details.get("line")
    if line is None:
        return [f'File "{shown}"']
    source = linecache.getline(str(path), int(line)).strip()
    return [f'File "{shown}", line {line}'] + ([f"  {source}"] if source else [])
