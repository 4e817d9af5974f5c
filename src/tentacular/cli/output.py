"""Rendering: the common JSON envelope (F-146…F-150) and plain text, stdout vs stderr.

With ``-o json`` stdout carries exactly one JSON document; everything else
(progress, warnings) goes to stderr, so agents can parse stdout blindly.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from tentacular.errors import EXIT_FAILURE, EXIT_OK, TentacularError

OutputFormat = Literal["text", "json", "yaml"]
ENVELOPE_VERSION = "1"


@dataclass
class GlobalOptions:
    output: OutputFormat = "text"
    namespace: str | None = None
    env: str | None = None
    debug: bool = False
    started: float = field(default_factory=time.time)
    started_monotonic: float = field(default_factory=time.perf_counter)

    @property
    def json(self) -> bool:
        return self.output == "json"

    @property
    def machine(self) -> bool:
        """``-o json`` or ``-o yaml``: stdout carries exactly one envelope document."""
        return self.output in ("json", "yaml")


@dataclass
class CommandResult:
    """What a command produced: envelope fields plus how to show it as text."""

    command: str
    passed: bool
    summary: str
    hints: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    text: Callable[[TextIO], None] | None = None
    exit_code: int | None = None
    show_status_line: bool = True

    @property
    def code(self) -> int:
        if self.exit_code is not None:
            return self.exit_code
        return EXIT_OK if self.passed else EXIT_FAILURE


def envelope(
    options: GlobalOptions,
    command: str,
    passed: bool,
    summary: str,
    hints: list[str],
    data: dict[str, Any],
) -> dict[str, Any]:
    started = datetime.fromtimestamp(options.started, tz=UTC)
    document: dict[str, Any] = {
        "version": ENVELOPE_VERSION,
        "command": command,
        "status": "pass" if passed else "fail",
        "summary": summary,
        "hints": hints,
        "timing": {
            "startedAt": started.strftime("%Y-%m-%dT%H:%M:%S.") + f"{started.microsecond // 1000:03d}Z",
            "durationMs": int((time.perf_counter() - options.started_monotonic) * 1000),
        },
    }
    document.update(data)
    return document


def results_stdout() -> TextIO:
    """The real stdout for a result: while a local engine runs, ``sys.stdout`` carries node output
    to stderr (redacted) and keeps the real one as ``results_stream`` (engine ``_output``)."""
    stream = sys.stdout
    found: TextIO = getattr(stream, "results_stream", stream)
    return found


def write_document(options: GlobalOptions, document: dict[str, Any]) -> None:
    """The envelope on stdout: one JSON line, or one YAML document (the same data)."""
    text = json.dumps(document, separators=(",", ":"), default=str)
    if options.output == "yaml":
        import yaml

        text = yaml.safe_dump(json.loads(text), sort_keys=False, allow_unicode=True, width=1_000_000)
        text = "---\n" + text.rstrip("\n")
    out = results_stdout()
    out.write(text + "\n")
    out.flush()


def _error_object(error: dict[str, Any]) -> dict[str, Any]:
    """``error`` always carries ``code``, ``message`` and ``hint`` (``null`` when there is none)."""
    return {"code": error.get("code"), "message": error.get("message"), "hint": error.get("hint"), **error}


def emit(options: GlobalOptions, result: CommandResult) -> int:
    if options.machine:
        data = result.data
        if not result.passed:
            # Every failure names a stable code, also when no exception was raised (a failed test).
            failure = data.get("error") or {
                "code": result.command.replace(" ", "_") + "_failed",
                "message": result.summary,
                "hint": result.hints[0] if result.hints else None,
            }
            data = {**data, "error": _error_object(failure)}
        doc = envelope(options, result.command, result.passed, result.summary, result.hints, data)
        write_document(options, doc)
        return result.code
    out = results_stdout()
    if result.text is not None:
        result.text(out)
    if result.show_status_line:
        stream = out if result.passed else sys.stderr
        mark = style("[PASS]", "green", stream) if result.passed else style("[FAIL]", "red", stream)
        stream.write(f"{mark} {result.summary}\n")
        for hint in result.hints:
            stream.write(f"  hint: {hint}\n")
    out.flush()
    return result.code


def emit_error(options: GlobalOptions, command: str, error: TentacularError) -> int:
    hints = [error.hint] if error.hint else []
    if options.machine:
        detail = error.to_dict()
        errors = detail.pop("errors", None)
        data: dict[str, Any] = {"error": _error_object(detail)}
        if errors is not None:
            data["errors"] = errors
        issues = getattr(error, "issues", None)
        if issues:
            data["warnings"] = [i.to_dict() for i in issues if i.severity == "warning"]
        doc = envelope(options, command, False, error.message, hints, data)
        write_document(options, doc)
        return error.exit_code
    err = sys.stderr
    err.write(f"{style('Error:', 'red', err)} {error.message}\n")
    for issue in getattr(error, "issues", []):
        label = style("error", "red", err) if issue.severity == "error" else style("warning", "yellow", err)
        err.write(f"  {label} {issue.render()}\n")
    for hint in hints:
        err.write(f"  hint: {hint}\n")
    return error.exit_code


def progress(options: GlobalOptions, message: str) -> None:
    """Status lines always go to stderr so stdout stays machine-readable."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


_COLOURS = {"red": "31", "green": "32", "yellow": "33", "bold": "1", "dim": "2", "cyan": "36"}


def style(text: str, colour: str, stream: TextIO) -> str:
    if os.environ.get("NO_COLOR") or not getattr(stream, "isatty", lambda: False)():
        return text
    return f"\033[{_COLOURS[colour]}m{text}\033[0m"
