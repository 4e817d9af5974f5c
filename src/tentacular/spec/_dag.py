"""The workflow graph: deterministic topological order, stages, cycles, critical path."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from typing import NamedTuple


class Dag(NamedTuple):
    """An acyclic graph of node ids; ``parents`` keep the edge order of workflow.yaml.

    Not a dataclass: a pod's start defines none (tests/engine/test_startup_imports.py).
    """

    nodes: tuple[str, ...]
    parents: Mapping[str, tuple[str, ...]]
    children: Mapping[str, tuple[str, ...]]
    order: tuple[str, ...] = ()
    stages: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def build(cls, nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> Dag:
        """Compile the graph; raise ValueError naming a cycle when there is one."""
        node_list = sorted(set(nodes))
        parents: dict[str, list[str]] = {node: [] for node in node_list}
        children: dict[str, list[str]] = {node: [] for node in node_list}
        for source, target in edges:
            if source not in parents or target not in parents:
                raise ValueError(f"edge {source} → {target} references an unknown node")
            if source not in parents[target]:  # a duplicate edge adds nothing
                parents[target].append(source)
                children[source].append(target)
        cycles = find_cycles(node_list, children)
        if cycles:
            raise ValueError("cycle detected: " + " → ".join(cycles[0]))
        order = _kahn(node_list, parents, children)
        stage_of: dict[str, int] = {}
        for node in order:
            stage_of[node] = 1 + max((stage_of[p] for p in parents[node]), default=-1)
        stage_count = 1 + max(stage_of.values(), default=-1)
        stages = tuple(
            tuple(node for node in order if stage_of[node] == index) for index in range(stage_count)
        )
        return cls(
            nodes=tuple(node_list),
            parents={k: tuple(v) for k, v in parents.items()},
            children={k: tuple(sorted(v)) for k, v in children.items()},
            order=tuple(order),
            stages=stages,
        )

    @property
    def roots(self) -> tuple[str, ...]:
        return tuple(node for node in self.order if not self.parents[node])

    @property
    def leaves(self) -> tuple[str, ...]:
        return tuple(node for node in self.order if not self.children[node])

    def critical_path(self, weights: Mapping[str, float] | None = None) -> list[str]:
        """The heaviest root-to-leaf path (node count when no weights are given)."""
        best: dict[str, tuple[float, list[str]]] = {}
        for node in self.order:
            weight = 1.0 if weights is None else float(weights.get(node, 0.0))
            incoming = [best[parent] for parent in self.parents[node]]
            base = max(incoming, key=lambda item: item[0], default=(0.0, []))
            best[node] = (base[0] + weight, [*base[1], node])
        if not best:
            return []
        return max((best[leaf] for leaf in self.leaves), key=lambda item: item[0])[1]


def _kahn(nodes: list[str], parents: Mapping[str, list[str]], children: Mapping[str, list[str]]) -> list[str]:
    indegree = {node: len(parents[node]) for node in nodes}
    ready = [node for node in nodes if indegree[node] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for child in children[node]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, child)
    return order


def find_cycles(nodes: Iterable[str], children: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Every distinct cycle met by a depth-first search, each as a closed path ``a, b, a``."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(nodes, white)
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    for root in sorted(colour):
        if colour[root] != white:
            continue
        stack: list[tuple[str, list[str]]] = [(root, sorted(children.get(root, ())))]
        path = [root]
        colour[root] = grey
        while stack:
            node, pending = stack[-1]
            if not pending:
                colour[node] = black
                stack.pop()
                path.pop()
                continue
            child = pending.pop(0)
            if colour.get(child, black) == grey:
                cycle = [*path[path.index(child) :], child]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    cycles.append(cycle)
            elif colour.get(child) == white:
                colour[child] = grey
                path.append(child)
                stack.append((child, sorted(children.get(child, ()))))
    return cycles
