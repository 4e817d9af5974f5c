"""Rendering of ``tntc validate``: the envelope data and the readable summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from tentacular.cli.output import CommandResult

if TYPE_CHECKING:
    from tentacular.deploy import Validation


def validation_result(validation: Validation) -> CommandResult:
    from tentacular.spec import Dag, derive

    check = validation.check
    workflow = check.workflow
    assert workflow is not None
    dag = Dag.build(workflow.nodes, workflow.edge_pairs)
    artifacts = derive(workflow)
    secret_warnings = validation.secret_warnings
    typescript = validation.typescript()
    data: dict[str, Any] = {
        "file": str(check.file),
        "workflow": {
            "name": workflow.name,
            "version": workflow.version,
            "nodes": len(workflow.nodes),
            "edges": len(workflow.edges),
            "triggers": [t.type for t in workflow.triggers],
            "hasContract": workflow.contract is not None,
        },
        "stages": [list(stage) for stage in dag.stages],
        "derived": artifacts.to_dict(),
        "warnings": [issue.to_dict() for issue in check.warnings],
        "secretWarnings": list(secret_warnings),
    }
    if typescript is not None:
        data["typescript"] = typescript

    def text(out: TextIO) -> None:
        out.write(f"✓ {check.file} is valid\n")
        out.write(
            f"  Workflow: {workflow.name} (v{workflow.version}): {len(workflow.nodes)} nodes, "
            f"{len(workflow.edges)} edges, triggers: {', '.join(t.type for t in workflow.triggers)}\n"
        )
        out.write("  Stages: " + " → ".join(f"[{', '.join(s)}]" for s in dag.stages) + "\n")
        if workflow.contract is None:
            out.write("  Contract: none (legacy mode: unrestricted network)\n")
        else:
            out.write("  Derived artifacts:\n")
            out.write(f"    Secrets: {', '.join(artifacts.secrets) or '(none)'}\n")
            out.write("    Egress rules:\n")
            for rule in artifacts.egress:
                out.write(f"      {rule}  ({rule.source})\n")
            out.write("    Ingress rules:\n")
            for ingress in artifacts.ingress:
                out.write(f"      {ingress}\n")
        for issue in check.warnings:
            out.write(f"  warning {issue.render()}\n")
        for warning in secret_warnings:
            out.write(f"  warning {warning}\n")
        if typescript is not None:
            out.write(f"  TypeScript nodes: {', '.join(typescript['nodes'])} ({typescript['method']})\n")

    return CommandResult(
        "validate", True, f"{workflow.name} is valid", data=data, text=text, show_status_line=False
    )
