"""The hostile workflow.yaml documents of Build 6, shared by the tests and `make bench`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

HEAD = 'name: bomb\nversion: "1.0"\ntriggers: [{type: manual}]\n'
ONE_NODE = "nodes:\n  a: {path: ./nodes/a.py}\n"


def alias_bomb(_: Path) -> str:
    lines = ['  x0: &x0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"  x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return HEAD + ONE_NODE + "config:\n" + "\n".join(lines) + "\n"


def merge_bomb(_: Path) -> str:
    lines = ["  m0: &m0 {k0: 1}"]
    lines += [f"  m{i}: &m{i} {{<<: [*m{i - 1}], k{i}: {{<<: *m{i - 1}}}}}" for i in range(1, 30)]
    return HEAD + ONE_NODE + "config:\n" + "\n".join(lines) + "\n"


def deep_flow(_: Path) -> str:
    return HEAD + ONE_NODE + "config:\n  deep: " + "[" * 100_000 + "]" * 100_000 + "\n"


def deep_block(_: Path) -> str:
    return HEAD + ONE_NODE + "config:\n  deep:\n    " + "- " * 100_000 + "1\n"


def huge_document(_: Path) -> str:
    return HEAD + ONE_NODE + "config:\n" + "".join(f"  key{i}: value{i}\n" for i in range(2_000_000))


def many_config_keys(_: Path) -> str:
    return HEAD + ONE_NODE + "config:\n" + "".join(f"  k{i}: {i}\n" for i in range(400_000))


def many_nodes(_: Path) -> str:
    nodes = "".join(f"  n{i}: {{path: ./nodes/a.py}}\n" for i in range(20_000))
    return HEAD + "nodes:\n" + nodes


def many_small_nodes(_: Path) -> str:
    nodes = "".join(f"  n{i}: {{path: ./nodes/a.py}}\n" for i in range(1500))
    return HEAD + "nodes:\n" + nodes


# name -> (builder, a phrase the error must contain)
HOSTILE_WORKFLOWS: dict[str, tuple[Callable[[Path], str], str]] = {
    "alias bomb": (alias_bomb, "expands to more than 50000 values"),
    "merge-key bomb": (merge_bomb, "expands to more than 50000 values"),
    "100,000-deep flow nesting": (deep_flow, "exceeded maximum nesting depth"),
    "100,000-deep block nesting": (deep_block, "invalid YAML"),
    "50 MB document": (huge_document, "the limit is 262144"),
    "400,000-key config": (many_config_keys, "the limit is 262144"),
    "20,000-node workflow": (many_nodes, "the limit is 262144"),
    "1,500-node workflow": (many_small_nodes, "1500 nodes; a workflow may have at most 1000"),
}
