"""One problem found by a cross-file rule, located by its path in workflow.yaml."""

from __future__ import annotations

from dataclasses import dataclass

from tentacular.spec._yamlsource import PathKey


@dataclass(frozen=True)
class Finding:
    path: tuple[PathKey, ...]
    message: str
    hint: str | None = None
    severity: str = "error"
    on_key: bool = False
