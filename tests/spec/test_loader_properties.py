"""The loader never crashes: arbitrary YAML and mutated workflows give a model or errors."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tentacular.spec import Workflow, parse_workflow
from tests.conftest import VALID_WORKFLOW

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_like = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _check(text: str) -> None:
    workflow, issues = parse_workflow(text)
    assert workflow is None or isinstance(workflow, Workflow)
    if workflow is None:
        assert any(issue.severity == "error" for issue in issues)
    for issue in issues:
        assert issue.message
        assert issue.line is None or issue.line >= 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    _check(text)


@settings(max_examples=200, deadline=None)
@given(json_like)
def test_arbitrary_yaml_documents(document: Any) -> None:
    _check(yaml.safe_dump(document))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


ALL_PATHS = [p for p in _paths(VALID_WORKFLOW) if p]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(ALL_PATHS), json_like, st.booleans())
def test_mutated_valid_workflow(path: tuple[Any, ...], replacement: Any, delete: bool) -> None:
    data = copy.deepcopy(VALID_WORKFLOW)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    _check(yaml.safe_dump(data, sort_keys=False))
