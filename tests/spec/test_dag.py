"""Topological order, stages, cycles and the critical path."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tentacular.spec import Dag
from tentacular.spec._dag import find_cycles


def test_stages_follow_the_inventory_example() -> None:
    dag = Dag.build(
        ["notify", "fetch", "transform", "enrich"],
        [("fetch", "transform"), ("fetch", "enrich"), ("transform", "notify"), ("enrich", "notify")],
    )
    assert dag.stages == (("fetch",), ("enrich", "transform"), ("notify",))
    assert dag.order == ("fetch", "enrich", "transform", "notify")
    assert dag.parents["notify"] == ("transform", "enrich")  # edge order is kept for input keys


def test_edgeless_workflow_is_one_stage() -> None:
    assert Dag.build(["b", "a"], []).stages == (("a", "b"),)


def test_duplicate_edges_collapse() -> None:
    dag = Dag.build(["a", "b"], [("a", "b"), ("a", "b")])
    assert dag.parents["b"] == ("a",)


def test_cycle_is_reported_with_its_path() -> None:
    with pytest.raises(ValueError, match="cycle detected: a → b → c → a"):
        Dag.build(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "a")])


def test_critical_path_uses_weights() -> None:
    dag = Dag.build("abcdef", [("a", "b"), ("a", "c"), ("c", "d"), ("d", "e"), ("b", "f"), ("e", "f")])
    assert dag.critical_path() == ["a", "c", "d", "e", "f"]
    weights = {"a": 0, "b": 200, "c": 20, "d": 20, "e": 20, "f": 0}
    assert dag.critical_path(weights) == ["a", "b", "f"]


@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=20))
def test_random_graphs(raw_edges: list[tuple[int, int]]) -> None:
    nodes = [f"n{i}" for i in range(8)]
    edges = [(f"n{a}", f"n{b}") for a, b in raw_edges if a < b]  # forward edges only: acyclic
    dag = Dag.build(nodes, edges)
    position = {node: index for index, node in enumerate(dag.order)}
    assert sorted(dag.order) == sorted(nodes)
    for source, target in edges:
        assert position[source] < position[target]
    assert Dag.build(nodes, edges) == dag  # deterministic


def test_find_cycles_reports_each_cycle_once() -> None:
    cycles = find_cycles(["a", "b", "c", "d"], {"a": ["b"], "b": ["a"], "c": ["d"], "d": ["c"]})
    assert cycles == [["a", "b", "a"], ["c", "d", "c"]]
