"""Mermaid diagram and contract summary of a workflow (F-238…F-243, Q36). Deterministic."""

from __future__ import annotations

from tentacular.spec._dag import Dag
from tentacular.spec._derive import derive
from tentacular.spec._model import Workflow

_DEPENDENCY_STYLE = "fill:#e1f5ff,stroke:#0066cc,stroke-width:2px"


def mermaid_diagram(workflow: Workflow, *, rich: bool = False) -> str:
    """A ```mermaid block: triggers feed the root nodes, edges sorted; ``rich`` adds dependencies."""
    dag = Dag.build(workflow.nodes, workflow.edge_pairs)
    lines = ["```mermaid", "flowchart LR"]
    trigger_ids = _trigger_ids(workflow)
    for trigger_id, label in trigger_ids:
        lines.append(
            f'    {trigger_id}{{{{"{label}"}}}}' if " " in label else f"    {trigger_id}{{{{{label}}}}}"
        )
    lines.extend(f"    {node}[{node}]" for node in sorted(workflow.nodes))
    lines.append("")
    edge_lines = [f"    {trigger_id} --> {root}" for trigger_id, _ in trigger_ids for root in dag.roots]
    edge_lines += sorted(f"    {source} --> {target}" for source, target in set(workflow.edge_pairs))
    lines.extend(edge_lines)
    if rich and workflow.contract and workflow.contract.dependencies:
        lines.extend(["", "    %% External Dependencies"])
        for name in sorted(workflow.contract.dependencies):
            dep = workflow.contract.dependencies[name]
            where = dep.cidr if dep.is_dynamic else f"{dep.host}:{dep.effective_port}"
            lines.append(f"    dep_{name}[({name}<br/>{where})]")
            lines.append(f"    style dep_{name} {_DEPENDENCY_STYLE}")
    lines.append("```")
    return "\n".join(lines) + "\n"


def _trigger_ids(workflow: Workflow) -> list[tuple[str, str]]:
    counts: dict[str, int] = {}
    for trigger in workflow.triggers:
        counts[trigger.type] = counts.get(trigger.type, 0) + 1
    seen: dict[str, int] = {}
    result: list[tuple[str, str]] = []
    for trigger in workflow.triggers:
        index = seen.get(trigger.type, 0)
        seen[trigger.type] = index + 1
        trigger_id = f"trigger_{trigger.type}"
        if trigger.name:
            trigger_id = f"trigger_{trigger.name.replace('-', '_')}"
        elif counts[trigger.type] > 1:
            trigger_id += f"_{index}"
        label: str = trigger.type
        detail = getattr(trigger, "schedule", None) or getattr(trigger, "subject", None)
        if detail is None and trigger.type == "webhook":
            detail = getattr(trigger, "provider", None) or getattr(trigger, "path", None)
        if trigger.name:
            label += f": {trigger.name}"
        if detail:
            label += f" {detail}"
        result.append((trigger_id, label.replace('"', "#quot;")))
    return result


def contract_summary(workflow: Workflow) -> str:
    """Markdown review artifact: secrets, egress and ingress derived from the contract."""
    if workflow.contract is None:
        return ""
    artifacts = derive(workflow)
    lines = [
        f"# Contract summary: {workflow.name} v{workflow.version}",
        "",
        "## Derived Artifacts",
        "",
    ]
    lines.append("### Secrets")
    lines.append("")
    if artifacts.secrets:
        for ref in artifacts.secrets:
            service, key = ref.split(".", 1)
            lines.append(f"- `{ref}` → service={service}, key={key}")
    else:
        lines.append("- (none)")
    lines += ["", "### Egress Rules (NetworkPolicy)", "", "| Host | Port | Protocol | Source |"]
    lines.append("|------|------|----------|--------|")
    for rule in artifacts.egress:
        port = str(rule.port) if rule.port else "any"
        lines.append(f"| {rule.host} | {port} | {rule.protocol} | {rule.source} |")
    lines += ["", "### Ingress Rules (NetworkPolicy)", "", "| Port | Protocol | Trigger |"]
    lines.append("|------|----------|---------|")
    for ingress in artifacts.ingress:
        lines.append(f"| {ingress.port} | {ingress.protocol} | {ingress.source} |")
    return "\n".join(lines) + "\n"
