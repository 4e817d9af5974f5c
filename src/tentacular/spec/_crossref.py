"""Rules that relate several parts of workflow.yaml.

They work on the raw parsed data and skip entries of the wrong shape (the
model reports those), so that every problem of a file is reported in one go.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tentacular.spec._dag import find_cycles
from tentacular.spec._findings import Finding
from tentacular.spec._model import NodeSpec
from tentacular.spec._trigger_checks import check_nats_server, check_trigger_fields


def cross_check(data: dict[str, Any], directory: Path | None) -> Iterator[Finding]:
    yield from _check_triggers(data.get("triggers"))
    yield from check_trigger_fields(data.get("triggers"), directory)
    yield from check_nats_server(data)
    nodes = data.get("nodes")
    node_ids = set(nodes) if isinstance(nodes, dict) else set()
    if directory is not None and isinstance(nodes, dict):
        yield from _check_node_files(nodes, directory)
    yield from _check_edges(data.get("edges"), node_ids, has_nodes=isinstance(nodes, dict))
    if "edges" not in data and isinstance(nodes, dict) and len(nodes) > 1:
        yield Finding(
            ("edges",),
            "edges is missing; with several nodes every node runs independently",
            hint="add `edges: []` to make that explicit, or list the edges between nodes",
            severity="warning",
        )
    if "contract" not in data:
        yield Finding(
            (),
            "no contract: the workflow runs unrestricted (no NetworkPolicy, no runtime guard)",
            hint='add `contract: {version: "1", dependencies: {}}` and declare every dependency',
            severity="warning",
        )


def _check_triggers(triggers: Any) -> Iterator[Finding]:
    if not isinstance(triggers, list):
        return
    seen: dict[str, int] = {}
    for index, trigger in enumerate(triggers):
        if not isinstance(trigger, dict):
            continue
        name = trigger.get("name")
        if isinstance(name, str):
            if name in seen:
                yield Finding(
                    ("triggers", index, "name"),
                    f'duplicate trigger name "{name}" (first used by triggers[{seen[name]}])',
                    hint="trigger names must be unique within a workflow",
                )
            else:
                seen[name] = index


def _check_node_files(nodes: dict[Any, Any], directory: Path) -> Iterator[Finding]:
    for node_id, spec in nodes.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("path"), str):
            continue
        try:
            relative = NodeSpec.model_validate(spec).relative_path
        except Exception:  # the model reports a malformed node
            continue
        target = directory / relative
        if not target.is_file():
            yield Finding(
                ("nodes", node_id, "path"),
                f'node file "{relative}" does not exist',
                hint=f"create {relative} (it must define run(ctx, input)) or fix the path",
            )


def _check_edges(edges: Any, node_ids: set[str], *, has_nodes: bool) -> Iterator[Finding]:
    if not isinstance(edges, list):
        return
    children: dict[str, list[str]] = {node: [] for node in node_ids}
    for index, edge in enumerate(edges):
        if not isinstance(edge, dict):
            continue
        source, target = edge.get("from"), edge.get("to")
        valid = True
        for end, value in (("from", source), ("to", target)):
            if isinstance(value, str) and has_nodes and value not in node_ids:
                valid = False
                yield Finding(
                    ("edges", index, end),
                    f'{end} node "{value}" is not defined',
                    hint=_suggest(value, node_ids) or "edges may only connect nodes listed under nodes",
                )
        if isinstance(source, str) and source == target:
            valid = False
            yield Finding(
                ("edges", index),
                f'self-loop on "{source}"',
                hint="a node cannot feed its own input; remove this edge",
            )
        if valid and isinstance(source, str) and isinstance(target, str) and source in children:
            children[source].append(target)
    for cycle in find_cycles(sorted(node_ids), children):
        if len(cycle) <= 2:  # self-loops are reported above
            continue
        first = _edge_index(edges, cycle[0], cycle[1])
        yield Finding(
            ("edges", first) if first is not None else ("edges",),
            "cycle detected: " + " → ".join(cycle),
            hint="workflows are acyclic; remove one of the edges on this cycle",
        )


def _edge_index(edges: list[Any], source: str, target: str) -> int | None:
    for index, edge in enumerate(edges):
        if isinstance(edge, dict) and edge.get("from") == source and edge.get("to") == target:
            return index
    return None


def _suggest(value: str, choices: set[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(value, sorted(choices), n=1)
    return f'did you mean "{close[0]}"?' if close else None
