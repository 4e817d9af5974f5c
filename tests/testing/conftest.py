"""Purpose-built workflows on disk: nodes as source text, fixtures as dicts."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

BuildWorkflow = Callable[..., Path]

HTTPS_API = {
    "protocol": "https",
    "host": "api.example.com",
    "auth": {"type": "bearer-token", "secret": "api.token"},
}


def build_workflow(
    directory: Path,
    nodes: dict[str, str],
    *,
    fixtures: dict[str, Any] | None = None,
    edges: list[tuple[str, str]] | None = None,
    dependencies: dict[str, Any] | None = None,
    contract: bool = True,
    config: dict[str, Any] | None = None,
    helpers: dict[str, str] | None = None,
) -> Path:
    """``nodes`` maps node id to Python source; fixture file names map to their JSON content."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "nodes").mkdir(exist_ok=True)
    spec: dict[str, Any] = {
        "name": "drift-lab",
        "version": "1.0",
        "triggers": [{"type": "manual"}],
        "nodes": {node: {"path": f"./nodes/{node.replace('-', '_')}.py"} for node in nodes},
        "edges": [{"from": a, "to": b} for a, b in edges or []],
        "config": {"timeout": "5s", **(config or {})},
    }
    if contract:
        spec["contract"] = {"version": "1", "dependencies": dependencies or {}}
    (directory / "workflow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    for node, source in {**nodes, **(helpers or {})}.items():
        path = directory / "nodes" / f"{node.replace('-', '_')}.py"
        path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    if fixtures:
        target = directory / "tests" / "fixtures"
        target.mkdir(parents=True, exist_ok=True)
        for name, content in fixtures.items():
            text = content if isinstance(content, str) else json.dumps(content, indent=2)
            (target / name).write_text(text, encoding="utf-8")
    return directory


@pytest.fixture
def make_wf(tmp_path: Path) -> BuildWorkflow:
    counter = iter(range(1_000_000))

    def factory(nodes: dict[str, str], **kwargs: Any) -> Path:
        return build_workflow(tmp_path / f"wf{next(counter)}", nodes, **kwargs)

    return factory
