"""``tntc validate``: the spec check, every node read without running it, and the secret warnings.

It sits in the deploy face because the secret warnings depend on the environment's
secrets source (settings); everything heavy loads only when it is needed: Deno only
for TypeScript nodes, nothing of the engine's runtime or the Kubernetes client ever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tentacular.errors import SpecError
from tentacular.spec import SpecIssue, WorkflowCheck, check_workflow


@dataclass(frozen=True)
class Validation:
    """A valid workflow's check, its TypeScript check (if any) and the secret warnings."""

    check: WorkflowCheck
    secret_warnings: list[str] = field(default_factory=list)
    typescript_nodes: list[str] = field(default_factory=list)
    typescript_method: str | None = None

    def typescript(self) -> dict[str, Any] | None:
        if not self.typescript_nodes:
            return None
        return {"nodes": list(self.typescript_nodes), "method": self.typescript_method}


def validate(directory: str | Path, *, env: str | None = None) -> Validation:
    """Raise SpecError with every finding (warnings included) when anything would fail later."""
    check = check_workflow(directory, compile_nodes=True)
    if not check.ok:
        count = len(check.errors)
        raise SpecError(f"{check.file} has {count} error{'s' if count != 1 else ''}", check.issues)
    nodes, method = _check_typescript(check)
    from tentacular.deploy._secrets_ops import secret_warnings

    warnings = secret_warnings(check.file.parent, env=env)
    return Validation(check, warnings, nodes, method)


def _check_typescript(check: WorkflowCheck) -> tuple[list[str], str | None]:
    workflow = check.workflow
    assert workflow is not None
    paths = {node: spec.relative_path for node, spec in workflow.nodes.items()}
    if not any(path.endswith(".ts") for path in paths.values()):
        return [], None
    from tentacular.engine import check_typescript_nodes  # loads Deno support only for .ts nodes

    result = check_typescript_nodes(check.file.parent, paths)
    if result.problems:
        issues = [
            SpecIssue(file=p.file, path=f"nodes.{p.node}", message=p.message, hint=p.hint, line=p.line)
            for p in result.problems
        ]
        # The spec's warnings still show next to the broken nodes.
        count = len(issues)
        raise SpecError(
            f"{check.file.parent} has {count} broken TypeScript node{'s' if count != 1 else ''}",
            [*issues, *check.warnings],
        )
    return list(result.checked), result.method
