"""YAML parsing that remembers where every value was written (line, column).

The parser itself (PyYAML) lives in ``_yamlparse`` and is imported on the first parse: an
engine that starts from the compiled form never loads it (issue 19).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

PathKey = str | int

# Limits that keep parsing and validation of hostile input bounded (docs/security.md):
# a workflow travels in a ConfigMap (at most 1 MiB, shared with the node code), a real one has a few
# hundred values; aliases and merge keys count every time they are used, so expansion
# bombs stop at the budget instead of growing exponentially.
MAX_YAML_VALUES = 50_000


@dataclass(frozen=True, slots=True)
class Mark:
    line: int
    column: int


@dataclass
class YamlDocument:
    """Parsed data plus the marks of every mapping key and value, addressed by path."""

    data: Any
    value_marks: dict[tuple[PathKey, ...], Mark] = field(default_factory=dict)
    key_marks: dict[tuple[PathKey, ...], Mark] = field(default_factory=dict)

    def mark_for(self, path: Sequence[PathKey], *, key: bool = False) -> Mark | None:
        """The mark of ``path``, or of its nearest ancestor that exists in the file."""
        marks = self.key_marks if key else self.value_marks
        probe = tuple(path)
        while probe:
            found = marks.get(probe) or self.value_marks.get(probe)
            if found:
                return found
            probe = probe[:-1]
        return self.value_marks.get(())

    def has(self, path: Sequence[PathKey]) -> bool:
        return tuple(path) in self.value_marks


class YamlSyntaxError(ValueError):
    def __init__(self, message: str, mark: Mark | None, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.mark = mark
        self.hint = hint


def parse_yaml(text: str) -> YamlDocument:
    """Parse one YAML document; raise YamlSyntaxError with a position on bad input."""
    from tentacular.spec._yamlparse import parse_document

    return parse_document(text)
