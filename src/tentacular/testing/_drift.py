"""Contract drift detection (F-129…F-134, INVENTORY §5.6, Q25).

The contract is workflow-wide, so which node "owns" a dependency is not written
down anywhere. To keep a partial run (``tntc test wf/node``) from calling the
other nodes' dependencies dead (Q25), a declaration is judged only when it is
in scope: every node was exercised, or an exercised node's code (including the
sibling helper modules it imports) names the dependency, or no node's code
names it at all — then it is dead whichever nodes ran.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tentacular.spec import Enforcement
from tentacular.testing._mock_context import InvocationRecord


@dataclass(frozen=True)
class DriftFinding:
    type: Literal["direct-fetch", "direct-secrets", "undeclared-dependency", "dead-declaration"]
    message: str
    suggestion: str
    nodes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "message": self.message,
            "suggestion": self.suggestion,
            "nodes": list(self.nodes),
        }


@dataclass
class DriftReport:
    enforcement: Enforcement
    findings: list[DriftFinding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dependencies_accessed: list[str] = field(default_factory=list)
    exercised_nodes: list[str] = field(default_factory=list)
    has_contract: bool = True

    @property
    def failed(self) -> bool:
        """Strict mode fails on any finding; audit mode only reports."""
        return self.enforcement == "strict" and bool(self.findings)

    def count(self, kind: str) -> int:
        return sum(1 for finding in self.findings if finding.type == kind)

    def to_dict(self) -> dict[str, Any]:
        found = [finding.to_dict() for finding in self.findings]
        strict = self.enforcement == "strict"
        return {
            "enforcement": self.enforcement,
            "hasContract": self.has_contract,
            "violations": found if strict else [],
            "warnings": ([] if strict else found) + [{"type": "note", "message": n} for n in self.notes],
            "summary": {
                "hasViolations": self.failed,
                "dependenciesAccessed": self.dependencies_accessed,
                "exercisedNodes": self.exercised_nodes,
                "directFetchCalls": self.count("direct-fetch"),
                "directSecretsAccess": self.count("direct-secrets"),
                "deadDeclarations": self.count("dead-declaration"),
                "undeclaredDependencies": self.count("undeclared-dependency"),
            },
        }


def analyze_drift(
    records: Iterable[InvocationRecord],
    *,
    declared: Mapping[str, Any] | None,
    secret_services: Mapping[str, str],
    all_nodes: Iterable[str],
    node_sources: Mapping[str, str],
    enforcement: Enforcement = "strict",
) -> DriftReport:
    """Aggregate the records of every invocation into one report.

    ``declared`` is the contract's dependency map (None: no contract, legacy mode);
    ``secret_services`` maps a secret service to the dependency whose auth uses it;
    ``node_sources`` maps node ids to the text of their code, helpers included.
    """
    records = list(records)
    exercised = sorted({record.node for record in records})
    if declared is None:
        return DriftReport(
            enforcement,
            notes=["workflow.yaml has no contract: drift detection needs one (legacy mode)"],
            exercised_nodes=exercised,
            has_contract=False,
        )
    by_dependency: dict[str, set[str]] = {}
    fetches: dict[tuple[str, str], set[str]] = {}
    secret_reads: dict[str, set[str]] = {}
    for record in records:
        for name in record.dependencies:
            by_dependency.setdefault(name, set()).add(record.node)
        for call in record.direct_fetches:
            fetches.setdefault(call, set()).add(record.node)
        for service in record.secrets_reads:
            secret_reads.setdefault(service, set()).add(record.node)

    findings: list[DriftFinding] = []
    for (service, path), nodes in fetches.items():
        findings.append(
            DriftFinding(
                "direct-fetch",
                f'Direct ctx.fetch("{service}", "{path}") bypasses contract',
                f'Use ctx.dependency("{service}").fetch("{path}") instead',
                tuple(sorted(nodes)),
            )
        )
    for service, nodes in secret_reads.items():
        dependency = secret_services.get(service, service)
        findings.append(
            DriftFinding(
                "direct-secrets",
                f'Direct ctx.secrets["{service}"] access bypasses contract',
                f'Use ctx.dependency("{dependency}").secret instead',
                tuple(sorted(nodes)),
            )
        )
    for name, nodes in sorted(by_dependency.items()):
        if name not in declared:
            findings.append(
                DriftFinding(
                    "undeclared-dependency",
                    f'Dependency "{name}" accessed but not declared in contract',
                    f'Add "{name}" to contract.dependencies in workflow.yaml',
                    tuple(sorted(nodes)),
                )
            )
    notes: list[str] = []
    findings += _dead_declarations(
        declared, by_dependency, set(exercised), set(all_nodes), node_sources, notes
    )
    return DriftReport(
        enforcement,
        findings=findings,
        notes=notes,
        dependencies_accessed=sorted(by_dependency),
        exercised_nodes=exercised,
    )


def _dead_declarations(
    declared: Mapping[str, Any],
    accessed: Mapping[str, set[str]],
    exercised: set[str],
    all_nodes: set[str],
    node_sources: Mapping[str, str],
    notes: list[str],
) -> list[DriftFinding]:
    full_run = all_nodes <= exercised
    findings: list[DriftFinding] = []
    for name in sorted(declared):
        if name in accessed:
            continue
        mentioned_by = {node for node, text in node_sources.items() if names_dependency(text, name)}
        if full_run or not mentioned_by or mentioned_by & exercised:
            findings.append(
                DriftFinding(
                    "dead-declaration",
                    f'Dependency "{name}" declared in contract but never accessed',
                    f'Remove "{name}" from contract.dependencies or ensure the node uses it',
                    tuple(sorted(mentioned_by & exercised)),
                )
            )
        else:
            notes.append(
                f'dependency "{name}" not checked for dead declaration: it belongs to nodes not exercised '
                f"here ({', '.join(sorted(mentioned_by))})"
            )
    return findings


def names_dependency(source: str, name: str) -> bool:
    return re.search(rf"""(["']){re.escape(name)}\1""", source) is not None


def node_source_text(node_file: Path, nodes_dir: Path) -> str:
    """The node's code plus the sibling helper modules it imports, transitively (Python and TypeScript)."""
    seen: set[Path] = set()
    texts: list[str] = []
    pending = [node_file]
    while pending:
        path = pending.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        texts.append(text)
        if path.suffix == ".py":
            pending += [nodes_dir / f"{module}.py" for module in _imported_modules(text)]
        elif path.suffix in (".ts", ".js"):
            pending += [(path.parent / spec).resolve() for spec in _TS_RELATIVE_IMPORT.findall(text)]
    return "\n".join(texts)


# `import ... from "./x.ts"`, `export ... from "../y.ts"`, `import("./z.ts")`: relative files only.
_TS_RELATIVE_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*["'](\.{1,2}/[^"']+)["']""")


def _imported_modules(text: str) -> set[str]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for statement in ast.walk(tree):
        if isinstance(statement, ast.Import):
            names.update(alias.name.split(".")[0] for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            names.add(statement.module.split(".")[0])
    return names
