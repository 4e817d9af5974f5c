"""The workflow under test: spec, node functions from the engine's runtime registry, contexts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tentacular.engine._executor import not_json_message
from tentacular.engine._runtime import NodeFunction, resolve_node_path, runtime_for
from tentacular.errors import NodeLoadError
from tentacular.spec import Enforcement, LoadedWorkflow, load_workflow
from tentacular.testing._drift import DriftReport, analyze_drift, node_source_text
from tentacular.testing._fixtures import DependencyMocks
from tentacular.testing._mock_context import InvocationRecord, MockContext


class NotJsonOutput(Exception):
    """A node returned something that cannot travel as JSON (D3)."""


@dataclass
class WorkflowUnderTest:
    """A loaded workflow plus the node functions loaded so far (one import per node and run)."""

    loaded: LoadedWorkflow
    _functions: dict[str, NodeFunction | NodeLoadError] = field(default_factory=dict)
    _prepared: set[str] = field(default_factory=set)

    @classmethod
    def open(cls, directory: Path) -> WorkflowUnderTest:
        return cls(load_workflow(directory))

    @property
    def directory(self) -> Path:
        return self.loaded.directory

    @property
    def nodes_dir(self) -> Path:
        return (self.directory / "nodes").resolve()

    @property
    def name(self) -> str:
        return self.loaded.workflow.name

    def node_function(self, node: str) -> NodeFunction:
        """Load through the engine's runtime registry; a broken node fails only its own cases."""
        cached = self._functions.get(node)
        if cached is None:
            try:
                path = resolve_node_path(self.directory, node, self.loaded.workflow.nodes[node].relative_path)
                runtime = runtime_for(path)
                if runtime.name not in self._prepared:
                    # prepare() drops helper modules of the previous workflow; once per run is enough.
                    runtime.prepare(self.nodes_dir)
                    self._prepared.add(runtime.name)
                cached = runtime.load(node, path, self.nodes_dir)
            except NodeLoadError as exc:
                cached = exc
            self._functions[node] = cached
        if isinstance(cached, NodeLoadError):
            raise cached
        return cached

    def config(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The workflow's config block with the fixture's ``config`` laid over it."""
        return {**self.loaded.workflow.config.as_mapping(), **overrides}

    @property
    def dependency_names(self) -> frozenset[str] | None:
        """The contract's dependencies; None without a contract (legacy mode mocks anything)."""
        contract = self.loaded.workflow.contract
        return None if contract is None else frozenset(contract.dependencies)

    @property
    def timeout(self) -> float:
        return self.loaded.workflow.config.timeout_seconds

    def drift(self, records: list[InvocationRecord], enforcement: Enforcement) -> DriftReport:
        workflow = self.loaded.workflow
        contract = workflow.contract
        sources = {
            node: node_source_text(self.directory / spec.relative_path, self.nodes_dir)
            for node, spec in workflow.nodes.items()
        }
        secret_services = {}
        if contract is not None:
            secret_services = {d.auth.service: n for n, d in contract.dependencies.items() if d.auth}
        return analyze_drift(
            records,
            declared=dict(contract.dependencies) if contract is not None else None,
            secret_services=secret_services,
            all_nodes=list(workflow.nodes),
            node_sources=sources,
            enforcement=enforcement,
        )

    def context(
        self,
        node: str,
        *,
        config: Mapping[str, Any],
        secrets: Mapping[str, Mapping[str, Any]],
        mocks: DependencyMocks,
        record: InvocationRecord,
    ) -> MockContext:
        return MockContext(
            node,
            contract=self.loaded.workflow.contract,
            config=config,
            secrets=secrets,
            mocks=mocks,
            record=record,
        )


def json_normalised(node: str, value: Any) -> Any:
    """What the output looks like on the wire; also the engine's JSON-serialisability rule (D3)."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        raise NotJsonOutput(not_json_message(node, value, exc)) from None


def to_ms(seconds: float) -> int:
    return round(seconds * 1000)


def relative_to(path: Path, directory: Path) -> str:
    try:
        return str(path.resolve().relative_to(directory.resolve()))
    except ValueError:
        return str(path)
