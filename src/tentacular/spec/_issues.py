"""Validation findings with the precise location of the offending YAML."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class SpecIssue:
    """One problem in a workflow: where it is, what is wrong and how to fix it.

    ``line`` and ``column`` are 1-based and come from the YAML marks; they are
    ``None`` when the problem has no place in the file (a missing file, say).
    """

    file: str
    path: str
    message: str
    hint: str | None = None
    line: int | None = None
    column: int | None = None
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
            "severity": self.severity,
        }

    def location(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def render(self) -> str:
        text = f"{self.location()}: {self.path or '<root>'}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text
